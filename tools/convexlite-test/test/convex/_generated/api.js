/* eslint-disable */
/**
 * Generated `api` utility (as `npx convex codegen` writes it).
 */
import { anyApi } from "convex/server";

export const api = anyApi;
export const internal = anyApi;
