// A second Worker for the conformance suite's Cloudflare run: the gateway's
// `binding: BACKEND` upstream reaches it through a service binding (see
// tests/conformance/wrangler.toml and scripts/conformance.sh, which runs both
// Workers in one `wrangler dev`). It describes every request it gets:
//   {"worker": "backend", "method", "path", "query", "headers": {name: value}}
// (path and query as received, the query without its "?"; header names
// lower-case, repeated ones joined by ", " as the Headers API does).
// ?status=NNN answers with that status (same body), as the echo backend does.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const headers = {};
    for (const [name, value] of request.headers) headers[name] = value;
    const body = JSON.stringify({
      worker: "backend",
      method: request.method,
      path: url.pathname,
      query: url.search.startsWith("?") ? url.search.slice(1) : url.search,
      headers,
    });
    const wanted = Number(url.searchParams.get("status"));
    const status = Number.isInteger(wanted) && wanted >= 200 && wanted <= 599 ? wanted : 200;
    const noBody = request.method === "HEAD" || [204, 205, 304].includes(status);
    return new Response(noBody ? null : body, {
      status,
      headers: { "content-type": "application/json", "x-backend-worker": "backend" },
    });
  },
};
