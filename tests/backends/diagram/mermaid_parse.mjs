// Mermaid's own erDiagram parser over the diagrams given on stdin (a JSON list of texts):
// prints, per text, its entities and relationships as mermaid's database holds them, or the
// parse error. Usage: node mermaid_parse.mjs <node_modules holding mermaid> < texts.json
import { pathToFileURL } from "node:url";
import fs from "node:fs";
import path from "node:path";

const entry = path.join(process.argv[2], "mermaid", "dist", "mermaid.core.mjs");
const mermaid = (await import(pathToFileURL(entry).href)).default;

const texts = JSON.parse(fs.readFileSync(0, "utf8"));
// mermaid.parse registers the diagram types; getDiagramFromText then gives the parsed database.
await mermaid.parse("erDiagram\n");
const results = [];
for (const text of texts) {
  try {
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const entities = [...diagram.db.getEntities().entries()].map(([name, e]) => ({
      name, id: e.id, alias: e.alias, attributes: e.attributes,
    }));
    results.push({ entities, relationships: diagram.db.getRelationships() });
  } catch (error) {
    results.push({ error: String(error.message || error) });
  }
}
process.stdout.write(JSON.stringify(results));
