// otlp_seed_tool OUT_DIR JSON_SEED...: decodes each OTLP/JSON seed of the
// otlp target (mode byte + body) and writes the same requests as
// OTLP/protobuf seeds (modes 4-6), so the protobuf decoder starts from valid
// messages instead of having to find the wire format byte by byte.
#include <fstream>
#include <iostream>
#include <sstream>

#include "ingest/otlp_decode.h"

int main(int argc, char** argv) {
  using namespace rslicer;
  if (argc < 2) {
    std::cerr << "usage: otlp_seed_tool OUT_DIR JSON_SEED...\n";
    return 1;
  }
  int written = 0;
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    if (text.empty() || text[0] > '3') continue;  // JSON modes only
    Catalog catalog;
    ParseStats stats;
    ReadCounts counts;
    OtlpDecoder decoder(catalog, stats, counts);
    std::vector<Record> records;
    decoder.decode_json_any(std::string_view(text).substr(1), records, argv[i], 1);
    for (int s = 0; s < 3; ++s) {
      const std::string body = encode_otlp_protobuf(records, catalog, static_cast<OtlpSignal>(s));
      if (body.empty()) continue;
      std::ofstream out(std::string(argv[1]) + "/proto_" + std::to_string(written++), std::ios::binary);
      out << static_cast<char>('4' + s) << body;
    }
  }
  std::cout << written << " protobuf seeds\n";
  return 0;
}
