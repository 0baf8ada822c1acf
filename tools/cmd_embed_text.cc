// rslicer embed-text: one JSON string per line on stdin -> one JSON array
// (the L2-normalised Qwen3-Embedding vector) per line on stdout (docs/qwen3.md).
#include <memory>

#include "command.h"
#include "core/errors.h"
#include "api/text.h"

namespace rslicer::cli {
namespace {


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
