// rslicer embed-text: one JSON string per line on stdin -> one JSON array
// (the L2-normalised Qwen3-Embedding vector) per line on stdout (docs/qwen3.md).
#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "core/errors.h"
#include "model/qwen3_encoder.h"
#include "tokenizer/json_string.h"

namespace rslicer::cli {
namespace {

struct EmbedTextOptions {
  std::string model;               // Hugging Face Qwen3 / Qwen3-Embedding folder
  std::string instruction;         // non-empty: texts are queries "Instruct: {instruction}\nQuery:{text}"
  std::string tokenizer;           // tokenizer.json; empty = <model>/tokenizer.json
  Qwen3EncoderOptions encoder;     // device, dtype, dim, batch, max length
  std::int64_t lines_per_call = 0; // lines embedded per encoder call (0 = 16 x batch)
};

void append_vector_json(std::string& out, const std::vector<float>& v) {
  char buf[32];
  out.push_back('[');
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back(',');
    auto res = std::to_chars(buf, buf + sizeof(buf), v[i]);  // shortest round-trip form
    out.append(buf, res.ptr);
  }
  out += "]\n";
}

int run_embed_text(EmbedTextOptions opt) {
  opt.encoder.tokenizer_path = opt.tokenizer;
  auto encoder = Qwen3TextEncoder::load(opt.model, opt.encoder);
  const std::size_t per_call =
      static_cast<std::size_t>(opt.lines_per_call > 0 ? opt.lines_per_call : 16 * opt.encoder.batch_size);

  std::ios::sync_with_stdio(false);
  std::vector<std::string> texts;
  std::string line, text, error, out;
  std::int64_t line_no = 0;
  auto flush = [&] {
    if (texts.empty()) return;
    for (const auto& v : encoder->embed_texts(texts)) append_vector_json(out, v);
    texts.clear();
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    out.clear();
    if (std::ferror(stdout)) throw IoError("stdout: write error");
  };
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (!parse_json_string_line(line, text, error))
      throw InvalidInput(cat("stdin line ", line_no, ": ", error, " (expected one JSON string per line)"));
    texts.push_back(opt.instruction.empty() ? text : qwen3_query_prompt(opt.instruction, text));
    if (texts.size() >= per_call) flush();
  }
  flush();
  return 0;
}

RSLICER_COMMAND("embed-text",
                "Qwen3-Embedding vectors: one JSON string per line on stdin, one JSON array per line out", 65,
                [](CLI::App& sub) -> std::function<int()> {
                  auto opt = std::make_shared<EmbedTextOptions>();
                  sub.add_option("--model", opt->model,
                                 "Hugging Face folder: config.json, tokenizer.json, model.safetensors "
                                 "(or shards + model.safetensors.index.json)")
                      ->required();
                  sub.add_option("--dim", opt->encoder.truncate_dim,
                                 "Matryoshka output size: keep the first N dims and renormalise (default: all)");
                  sub.add_option("--instruction", opt->instruction,
                                 "Embed lines as queries: \"Instruct: TEXT\\nQuery:{line}\" (default: documents, "
                                 "no prefix)");
                  sub.add_option("--batch", opt->encoder.batch_size, "Sequences per forward pass")
                      ->capture_default_str();
                  sub.add_option("--dtype", opt->encoder.compute_dtype, "Compute dtype: fp32 or bf16")
                      ->capture_default_str();
                  sub.add_option("--device", opt->encoder.device, "auto (CUDA when available), cpu, cuda, cuda:N")
                      ->capture_default_str();
                  sub.add_option("--max-length", opt->encoder.max_length,
                                 "Longer texts keep their first tokens (and the final <|endoftext|>)")
                      ->capture_default_str();
                  sub.add_option("--threads", opt->encoder.num_threads,
                                 "CPU threads (0: libtorch's default, which honours $OMP_NUM_THREADS)")
                      ->capture_default_str();
                  sub.add_option("--tokenizer", opt->tokenizer, "tokenizer.json (default: MODEL/tokenizer.json)");
                  return [opt] { return run_embed_text(*opt); };
                });

}  // namespace
}  // namespace rslicer::cli
