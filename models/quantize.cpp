#include "models/quantize.h"

#include <ATen/native/quantized/PackedParams.h>
#include <torch/custom_class.h>

#include <mutex>

#include "data/error.h"

namespace attnzoo {

std::string int8_engine() {
  static const std::string engine = [] {
    const auto& engines = at::globalContext().supportedQEngines();
    auto has = [&](at::QEngine e) {
      return std::find(engines.begin(), engines.end(), e) != engines.end();
    };
    // oneDNN first: on x86 its int8 GEMM is the fast one (bench/), QNNPACK's
    // is slower there than fp32.
    for (const auto& [e, name] :
         {std::pair{at::QEngine::ONEDNN, "onednn"}, std::pair{at::QEngine::FBGEMM, "fbgemm"},
          std::pair{at::QEngine::QNNPACK, "qnnpack"}}) {
      if (has(e)) {
        at::globalContext().setQEngine(e);
        return std::string(name);
      }
    }
    return std::string();
  }();
  return engine;
}

namespace {
torch::Tensor fp32(const torch::Tensor& t) {
  return t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
}
}  // namespace

torch::Tensor quantize_rows_int8(const torch::Tensor& weight) {
  const auto w = weight.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  auto scales = std::get<0>(w.abs().max(1)).div(127.0).to(torch::kDouble);
  scales = torch::where(scales > 0, scales, torch::ones_like(scales));
  const auto zero_points = torch::zeros({w.size(0)}, torch::kLong);
  return torch::quantize_per_channel(w, scales, zero_points, 0, torch::kQInt8);
}

Int8Linear::Int8Linear(const torch::Tensor& weight, const torch::Tensor& bias) {
  if (int8_engine().empty())
    throw UserError("int8: this LibTorch has no quantised engine (onednn, fbgemm or qnnpack)");
  static const auto prepack = c10::Dispatcher::singleton()
                                  .findSchemaOrThrow("quantized::linear_prepack", "")
                                  .typed<c10::intrusive_ptr<LinearPackedParamsBase>(
                                      at::Tensor, c10::optional<at::Tensor>)>();
  c10::optional<at::Tensor> b;
  if (bias.defined()) b = fp32(bias);
  torch::NoGradGuard no_grad;
  packed_ = c10::IValue(prepack.call(quantize_rows_int8(weight), b));
}

torch::Tensor Int8Linear::forward(const torch::Tensor& x) const {
  const auto sizes = x.sizes().vec();
  // reduce_range: activations in 7 bits. Without VNNI (AVX2, AVX-512 before
  // Cascade Lake) the int8 GEMM sums pairs of u8 x s8 products in 16 bits,
  // which full-range activations overflow (18% error with
  // DNNL_MAX_CPU_ISA=AVX2); the quantised cells do the same inside.
  auto y = packed_.toCustomClass<LinearPackedParamsBase>()->apply_dynamic(
      x.reshape({-1, sizes.back()}).contiguous(), /*reduce_range=*/true);
  auto out_sizes = sizes;
  out_sizes.back() = y.size(1);
  return y.view(out_sizes);
}

namespace {

// Runs a quantized:: operator on `stack`, leaving its outputs there.
void call_quantized(const char* name, torch::jit::Stack* stack) {
  c10::Dispatcher::singleton().findSchemaOrThrow(name, "").callBoxed(stack);
}

}  // namespace

Int8Cell::Int8Cell(const torch::Tensor& weight_ih, const torch::Tensor& weight_hh,
                   const torch::Tensor& bias_ih_, const torch::Tensor& bias_hh_)
    : ih(weight_ih, bias_ih_),
      hh(weight_hh, bias_hh_),
      bias_ih(fp32(bias_ih_)),
      bias_hh(fp32(bias_hh_)) {}

torch::Tensor Int8Cell::gru(const torch::Tensor& x, const torch::Tensor& h) const {
  torch::jit::Stack stack{x.contiguous(), h.contiguous(), ih.packed(),
                          hh.packed(),    bias_ih,        bias_hh};
  call_quantized("quantized::quantized_gru_cell_dynamic", &stack);
  return stack.at(0).toTensor();
}

std::tuple<torch::Tensor, torch::Tensor> Int8Cell::lstm(const torch::Tensor& x,
                                                        const torch::Tensor& h,
                                                        const torch::Tensor& c) const {
  torch::jit::Stack stack{
      x.contiguous(), std::vector<torch::Tensor>{h, c}, ih.packed(), hh.packed(), bias_ih, bias_hh};
  call_quantized("quantized::quantized_lstm_cell_dynamic", &stack);
  return {stack.at(0).toTensor(), stack.at(1).toTensor()};
}

c10::TypePtr Int8Linear::packed_type() {
  return c10::getCustomClassType<c10::intrusive_ptr<LinearPackedParamsBase>>();
}

}  // namespace attnzoo
