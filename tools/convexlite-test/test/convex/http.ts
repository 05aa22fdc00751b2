import { httpRouter } from "convex/server";
import { api } from "./_generated/api";
import { httpAction } from "./_generated/server";

const http = httpRouter();

http.route({
  path: "/postMessage",
  method: "POST",
  handler: httpAction(async (ctx, request) => {
    const { author, body } = await request.json();
    await ctx.runMutation(api.messages.send, { author, body });
    return new Response(null, { status: 200 });
  }),
});

http.route({
  pathPrefix: "/echo/",
  method: "GET",
  handler: httpAction(async (ctx, request) => {
    const url = new URL(request.url);
    const identity = await ctx.auth.getUserIdentity();
    const headers = new Headers({ "content-type": "application/json" });
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    return new Response(JSON.stringify({ url: url.href, x: url.searchParams.get("x"), name: identity?.name ?? null }), {
      status: 201,
      headers,
    });
  }),
});

export default http;
