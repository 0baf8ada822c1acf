// tokenizer.json (tokenizer/tokenizer_json.h, tokenizer/bpe_tokenizer.h):
// the SAX reader, then the whole tokenizer built from the text and, when
// that succeeds, used once (encode with and without the post-processor,
// decode back) since the vocabulary, merges and regexes all come from the
// input.
#include "fuzz_target.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/tokenizer_json.h"

RSLICER_FUZZ_TARGET(tokenizer_json) {
  const std::string_view text = fuzz::as_text(data, size);
  try {
    parse_tokenizer_json(text);
  } catch (const Error&) {
  }
  try {
    const Qwen3Tokenizer tok = Qwen3Tokenizer::from_json_text(text, "fuzz");
    const auto ids = tok.encode("Hello wörld 123 <|endoftext|>  \n\tx");
    tok.encode_with_special("a");
    tok.decode(ids);
    tok.token_to_id("a");
    if (tok.vocab_size() > 0) tok.id_to_token(0);
  } catch (const Error&) {
  }
  return 0;
}
