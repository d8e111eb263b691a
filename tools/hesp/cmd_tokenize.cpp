// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp tokenize --vocab FILE TEXT...`: CLIP token ids of each text, one JSON array per line.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "hesp/tokenizer.h"
#include "option_kinds.h"

namespace hesp::cli {

namespace {

struct TokenizeOptions {
  std::string vocab;
  std::vector<std::string> texts;
  int context_length = Tokenizer::kContextLength;
  bool pad = false;
  bool bpe_only = false;
};

void run_tokenize(const TokenizeOptions& opt) {
  const Tokenizer tokenizer(opt.vocab);
  for (const std::string& text : opt.texts) {
    const std::vector<int> ids = opt.bpe_only
                                     ? tokenizer.encode(text)
                                     : tokenizer.tokenize(text, opt.context_length, opt.pad);
    std::cout << nlohmann::json(ids).dump() << '\n';
  }
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto opt = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize",
      "Print CLIP token ids of each text, one JSON array per line: start token, BPE ids, end "
      "token, cut to the context length as CLIP's text encoder reads them");
  cmd->add_option("--vocab", opt->vocab, "CLIP's BPE vocabulary (bpe_simple_vocab_16e6.txt.gz)")
      ->required();
  cmd->add_option("text", opt->texts, "Texts to tokenize")->required();
  add_ranged_default(cmd, "--context-length", opt->context_length,
                     "Positions the text encoder reads", 2, 1 << 20);
  cmd->add_flag("--pad", opt->pad, "Pad with 0 up to the context length");
  cmd->add_flag("--bpe-only", opt->bpe_only,
                "Only the BPE ids: no start/end token, no length limit");
  cmd->callback([opt] { run_tokenize(*opt); });
}

}  // namespace hesp::cli
