// dbml's own PostgreSQL exporter (@dbml/core), for the oracle tests of nself's DBML
// frontend and backend. Reads a JSON array of DBML texts on stdin; writes a JSON array
// of {sql} or {error} (the first diagnostic, with its position).
const { exporter } = require('@dbml/core');

let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((text) => {
    try {
      return { sql: exporter.export(text, 'postgres') };
    } catch (e) {
      const d = (e.diags && e.diags[0]) || e;
      const where = d.location && d.location.start ? `${d.location.start.line}:${d.location.start.column}: ` : '';
      return { error: `${where}${d.message || String(d)}` };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
