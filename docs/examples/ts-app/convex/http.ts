import { httpRouter } from "convex/server";
import { httpAction } from "./_generated/server";

const http = httpRouter();

http.route({
  path: "/hello",
  method: "GET",
  handler: httpAction(async (_ctx, request) => {
    const name = new URL(request.url).searchParams.get("name") ?? "world";
    return new Response(`hello ${name}`, { headers: { "content-type": "text/plain" } });
  }),
});

export default http;
