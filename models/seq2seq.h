#pragma once
// Seq2Seq: Encoder + attention Decoder, the translator's model.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "models/decoder.h"
#include "models/encoder.h"

namespace attnzoo {

struct Seq2SeqOptions {
  Seq2SeqOptions(int64_t src_vocab_size, int64_t tgt_vocab_size)
      : src_vocab_size_(src_vocab_size), tgt_vocab_size_(tgt_vocab_size) {}
  TORCH_ARG(int64_t, src_vocab_size);
  TORCH_ARG(int64_t, tgt_vocab_size);
  TORCH_ARG(int64_t, embedding_size) = 256;
  TORCH_ARG(int64_t, encoder_hidden_size) = 512;  // per direction
  TORCH_ARG(int64_t, decoder_hidden_size) = 512;
  TORCH_ARG(int64_t, encoder_layers) = 1;
  TORCH_ARG(int64_t, decoder_layers) = 1;
  TORCH_ARG(bool, bidirectional) = true;
  TORCH_ARG(Cell, rnn) = Cell::kGru;
  TORCH_ARG(double, dropout) = 0.3;
  TORCH_ARG(AttentionKind, attention) = AttentionKind::kAdditive;
  TORCH_ARG(int64_t, attention_size) = 0;
  TORCH_ARG(int64_t, readout_size) = 0;
  TORCH_ARG(HardEval, hard_eval) = HardEval::kArgmax;  // hard attention at evaluation

 public:
  // The "model" section of a config; vocabulary sizes come from the data.
  static Seq2SeqOptions from_json(const nlohmann::json& j, int64_t src_vocab_size,
                                  int64_t tgt_vocab_size);
  nlohmann::json to_json() const;
};

class Seq2SeqImpl : public torch::nn::Module {
 public:
  explicit Seq2SeqImpl(Seq2SeqOptions options);
  void reset();

  // Encodes src (B,S) with lengths (B) into the memory the decoder attends over,
  // and the decoder's initial state.
  std::pair<Memory, DecoderState> encode(const torch::Tensor& src, const torch::Tensor& lengths);
  // Teacher-forced logits (B,T,V) and attention (B,T,S).
  // With `rows` (B,T) bool, logits are (N,V) for the true positions only.
  DecoderOutput forward(const torch::Tensor& src, const torch::Tensor& lengths,
                        const torch::Tensor& tgt_in, double teacher_forcing = 1.0,
                        const torch::Tensor& rows = {});
  int64_t num_parameters() const;

  Seq2SeqOptions options;
  Encoder encoder{nullptr};
  Decoder decoder{nullptr};
};
TORCH_MODULE(Seq2Seq);

}  // namespace attnzoo

#include "models/search.h"

namespace attnzoo {

// Drives a Seq2Seq through greedy or beam search over one encoded batch.
// With `candidates` (sorted target ids, a lexical shortlist's for this
// batch), each step projects onto those only: their log-softmax, and -inf
// for every other word (so the searches see the whole vocabulary).
class Seq2SeqStepper : public StepModel {
 public:
  Seq2SeqStepper(Seq2Seq model, const torch::Tensor& src, const torch::Tensor& lengths,
                 const torch::Tensor& candidates = {});
  torch::Tensor step(const torch::Tensor& tokens, torch::Tensor* weights) override;
  void select(const torch::Tensor& rows) override;
  torch::Device device() const override { return memory_.values.device(); }

 private:
  Seq2Seq model_;
  Memory memory_;
  DecoderState state_;
  // The shortlist's candidates (on the model's device) and their rows of the
  // vocabulary projection, fp32 (an int8 decoder's too).
  torch::Tensor candidates_, shortlisted_weight_, shortlisted_bias_;
};

// The translation length limit of each sentence, for the search:
// floor(ratio * source length) + offset, at least 1, and at most `cap` when cap > 0.
std::vector<int64_t> source_length_limits(const torch::Tensor& source_lengths, double ratio,
                                          int64_t offset, int64_t cap = 0);

}  // namespace attnzoo
