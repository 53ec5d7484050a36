#pragma once
// Dynamic int8 inference for linear layers (decoding only): each weight row is
// quantised once, symmetrically, to int8 with its own scale; each call
// quantises its input per tensor to 7 bits (reduce_range, safe on CPUs without VNNI) and runs the
// quantised engine's int8 GEMM (oneDNN on x86 with VNNI, QNNPACK elsewhere), returning fp32. The
// weights a layer was built from stay the model's; Int8Linear holds the packed copy.
#include <torch/torch.h>

#include <string>

namespace attnzoo {

// The quantised engine int8 layers use ("onednn", "qnnpack"), chosen once
// (oneDNN where LibTorch has it); empty when LibTorch has none.
std::string int8_engine();

class Int8Linear {
 public:
  Int8Linear() = default;
  // weight (out, in) fp32, bias (out) or undefined. Throws UserError without an engine.
  Int8Linear(const torch::Tensor& weight, const torch::Tensor& bias);
  bool defined() const { return !packed_.isNone(); }
  // (..., in) fp32 -> (..., out) fp32
  torch::Tensor forward(const torch::Tensor& x) const;
  // The packed weights as TorchScript sees them (quantized::linear_dynamic's
  // argument), for an exported module's attribute.
  const c10::IValue& packed() const { return packed_; }
  static c10::TypePtr packed_type();

 private:
  c10::IValue packed_;  // LinearPackedParamsBase (ATen/native/quantized/PackedParams.h)
};

// A GRU or LSTM cell with both matrices in int8 (quantized::quantized_gru_cell_dynamic,
// quantized::quantized_lstm_cell_dynamic, which add the biases that the
// packed weights hold, as torch.ao's dynamic cells pack them).
class Int8Cell {
 public:
  Int8Cell() = default;
  Int8Cell(const torch::Tensor& weight_ih, const torch::Tensor& weight_hh,
           const torch::Tensor& bias_ih, const torch::Tensor& bias_hh);
  bool defined() const { return ih.defined(); }
  torch::Tensor gru(const torch::Tensor& x, const torch::Tensor& h) const;
  std::tuple<torch::Tensor, torch::Tensor> lstm(const torch::Tensor& x, const torch::Tensor& h,
                                                const torch::Tensor& c) const;

  Int8Linear ih, hh;               // packed with their biases
  torch::Tensor bias_ih, bias_hh;  // the operators' arguments too
};

// A weight (out, in) quantised per output row, symmetric: int8 values and
// scale max|w_row| / 127 (rows of zeros get scale 1).
torch::Tensor quantize_rows_int8(const torch::Tensor& weight);

}  // namespace attnzoo
