// An independent check of cirrus's grammar output: every line on stdin is a JSON object whose
// "text" must parse as JSON (JSON.parse) and validate against the schema (ajv, with ajv-formats'
// full format checks). With --kind json-object the text must be a JSON object instead.
//   node validate.mjs SCHEMA.json < lines        (or --kind json-object)
// Prints a summary line and the first failures; exits 1 when any line fails, 2 on bad input.
import fs from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import Ajv7 from "ajv";
import addFormats from "ajv-formats";

const args = process.argv.slice(2);
let kind = "schema", schemaPath = null, minLines = 1;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--kind") kind = args[++i];
  else if (args[i] === "--min") minLines = Number(args[++i]);
  else schemaPath = args[i];
}
let validate = null;
if (kind === "schema") {
  if (!schemaPath) { console.error("validate: SCHEMA.json needed"); process.exit(2); }
  const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
  // draft-06/07 schemas (items as an array, definitions) get ajv's draft-07 class; the rest 2020-12
  const draft7 = /draft-0[67]/.test(schema.$schema ?? "");
  const Cls = draft7 ? (Ajv7.default ?? Ajv7) : (Ajv2020.default ?? Ajv2020);
  const ajv = new Cls({ strict: false, allErrors: true, validateFormats: true });
  (addFormats.default ?? addFormats)(ajv, { mode: "full" });
  if (!draft7) delete schema.$schema;
  validate = ajv.compile(schema);
}

const lines = fs.readFileSync(0, "utf8").split("\n").filter((l) => l.trim());
let ok = 0, bad = 0;
for (const line of lines) {
  let rec, value;
  try {
    rec = JSON.parse(line);
    value = JSON.parse(rec.text);
  } catch (e) {
    if (bad++ < 5) console.log(`FAIL: not JSON (${e.message}): ${line.slice(0, 300)}`);
    continue;
  }
  let good;
  if (kind === "json-object") good = value !== null && typeof value === "object" && !Array.isArray(value);
  else good = validate(value);
  if (good) ok++;
  else if (bad++ < 5)
    console.log(`FAIL: invalid (${kind === "schema" ? JSON.stringify(validate.errors).slice(0, 300) : "not an object"}): ${rec.text.slice(0, 300)}`);
}
console.log(`validate ${schemaPath ?? kind}: ${ok} valid, ${bad} invalid`);
process.exit(bad || ok < minLines ? 1 : 0);
