// Spectral function for the project's own rules (.spectral.yaml): walks every response of the
// unresolved document (operations, x-sharelink-other-methods, x-sharelink-unrouted), following
// local $refs to components, and checks one property of each.
//   check: "error-schema" - a 4xx/5xx answer's JSON content references #/components/schemas/Error,
//                           directly or as the first entry of an allOf.
//   check: "request-id"   - the answer documents X-Request-Id as #/components/headers/X-Request-Id.

const METHODS = ["get", "head", "options", "put", "post", "delete", "patch", "trace"];
const ERROR_SCHEMA = "#/components/schemas/Error";
const REQUEST_ID_HEADER = "#/components/headers/X-Request-Id";

function resolveLocal(document, node) {
  let seen = 0;
  while (node && typeof node.$ref === "string" && node.$ref.startsWith("#/") && seen++ < 16) {
    node = node.$ref
      .slice(2)
      .split("/")
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce((value, key) => (value === undefined ? undefined : value[key]), document);
  }
  return node;
}

// [path in the document, responses object] for every place that lists responses.
function responseLists(document) {
  const lists = [];
  for (const [route, item] of Object.entries(document.paths || {})) {
    for (const method of METHODS) {
      if (item[method] && item[method].responses) lists.push([["paths", route, method, "responses"], item[method].responses]);
    }
    const other = item["x-sharelink-other-methods"];
    if (other && other.responses) lists.push([["paths", route, "x-sharelink-other-methods", "responses"], other.responses]);
  }
  const unrouted = document["x-sharelink-unrouted"];
  if (unrouted && unrouted.responses) lists.push([["x-sharelink-unrouted", "responses"], unrouted.responses]);
  return lists;
}

function isJson(mediaType) {
  const type = mediaType.split(";")[0].trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

function referencesErrorSchema(schema) {
  if (!schema) return false;
  if (schema.$ref === ERROR_SCHEMA) return true;
  return Array.isArray(schema.allOf) && schema.allOf.length > 0 && schema.allOf[0].$ref === ERROR_SCHEMA;
}

export default function everyResponse(document, options) {
  const results = [];
  for (const [where, responses] of responseLists(document)) {
    for (const [status, reference] of Object.entries(responses)) {
      const response = resolveLocal(document, reference);
      const path = [...where, status];
      const name = reference && reference.$ref ? ` (${reference.$ref})` : "";
      if (!response) {
        results.push({ message: `${path.join(".")}: unresolvable response${name}`, path });
        continue;
      }
      if (options.check === "error-schema" && /^[45]/.test(status)) {
        for (const [mediaType, content] of Object.entries(response.content || {})) {
          if (isJson(mediaType) && !referencesErrorSchema(content.schema)) {
            results.push({
              message: `${path.join(".")}${name}: the ${mediaType} body of an error must reference ${ERROR_SCHEMA}`,
              path,
            });
          }
        }
      }
      if (options.check === "request-id") {
        const header = (response.headers || {})["X-Request-Id"];
        if (!header || header.$ref !== REQUEST_ID_HEADER) {
          results.push({ message: `${path.join(".")}${name}: X-Request-Id must be documented as ${REQUEST_ID_HEADER}`, path });
        }
      }
    }
  }
  return results;
}
