// A small offline reader of /openapi.json (no Swagger UI, nothing fetched from elsewhere).
"use strict";

(async () => {
  const root = document.getElementById("docs");
  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    for (const c of children) node.append(c);
    return node;
  };
  let spec;
  try {
    spec = await (await fetch("/openapi.json")).json();
  } catch (err) {
    root.textContent = `Cannot load /openapi.json: ${err.message}`;
    return;
  }
  document.getElementById("version").textContent = `v${spec.info.version} · OpenAPI ${spec.openapi}`;
  root.replaceChildren(el("p", { textContent: spec.info.description || "" }));

  const resolve = (schema) => {
    if (schema && schema.$ref) return spec.components.schemas[schema.$ref.split("/").pop()];
    return schema || {};
  };
  const typeOf = (schema) => {
    schema = resolve(schema);
    if (schema.anyOf) return schema.anyOf.map(typeOf).join(" | ");
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    if (schema.type === "array") return `${typeOf(schema.items)}[]`;
    return schema.title && !schema.type ? schema.title : (schema.type || "object");
  };
  const bounds = (s) => {
    const parts = [];
    if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
    if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
    if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
    return parts.join(", ");
  };
  const example = (schema, depth = 0) => {
    schema = resolve(schema);
    if (depth > 10) return null;
    if (schema.anyOf) return example(schema.anyOf[0], depth + 1);
    if (schema.type === "array") return [example(schema.items, depth + 1)];
    if (schema.type === "object" || schema.properties) {
      const out = {};
      for (const [k, v] of Object.entries(schema.properties || {})) out[k] = example(v, depth + 1);
      return out;
    }
    return { integer: 0, number: 0.0, string: "…", boolean: false }[schema.type] ?? null;
  };

  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const sec = el("section");
      sec.append(el("h2", {}, el("span", { className: "method", textContent: method.toUpperCase() }), path));
      if (op.summary) sec.append(el("p", { textContent: op.summary }));
      if (op.description) sec.append(el("p", { className: "muted", textContent: op.description }));
      if (op.parameters && op.parameters.length) {
        const table = el("table", {}, el("tr", {}, ...["query parameter", "type", "default", "description"]
          .map((h) => el("th", { textContent: h }))));
        for (const p of op.parameters) {
          const s = resolve(p.schema);
          const type = [typeOf(s), bounds(s)].filter(Boolean).join(", ");
          table.append(el("tr", {}, el("td", {}, el("code", { textContent: p.name })),
            el("td", { textContent: type }), el("td", { textContent: s.default === undefined ? "" : JSON.stringify(s.default) }),
            el("td", { textContent: p.description || "" })));
        }
        sec.append(table);
      }
      if (op.requestBody) {
        const types = Object.keys(op.requestBody.content || {}).join(", ");
        sec.append(el("p", {}, el("strong", { textContent: "Body: " }), op.requestBody.description || "",
          el("br"), el("span", { className: "muted", textContent: types })));
      }
      const table = el("table", {}, el("tr", {}, el("th", { textContent: "status" }), el("th", { textContent: "meaning" })));
      let shown = null;
      for (const [status, resp] of Object.entries(op.responses || {})) {
        table.append(el("tr", {}, el("td", { textContent: status }), el("td", { textContent: resp.description || "" })));
        const json = resp.content && resp.content["application/json"];
        if (status === "200" && json && json.schema && (json.schema.$ref || json.schema.properties)) shown = json.schema;
      }
      sec.append(table);
      if (shown) sec.append(el("pre", { textContent: JSON.stringify(example(shown), null, 2) }));
      root.append(sec);
    }
  }
  const ws = el("section");
  ws.append(el("h2", {}, el("span", { className: "method", textContent: "WS" }), "/v1/stream"),
    el("p", { textContent: "Send image frames as binary messages and {\"type\": \"options\", ...} as text " +
      "(same names as the query parameters of POST /v1/poses; only the fields named change, null " +
      "goes back to the preset's value). Answers: ready (the options in force, the model, the " +
      "presets), poses (per frame, numbered from 1 in arrival order), dropped (a frame replaced by " +
      "a newer one before it was processed), options, error." }));
  root.append(ws);
})();
