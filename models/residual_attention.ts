# TorchScript of the Residual Attention Network's classifier (models/residual_attention.cpp):
# residual_attention(images) is generated from the trained network by
# models/residual_attention_script.cpp (residual_attention_source); these two give the glimpse
# app's interface: forward -> (logits, no glimpse locations), and the masks.
def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
    logits, masks = self.residual_attention(images)
    return logits, torch.zeros([images.size(0), 0, 2], dtype=images.dtype, device=images.device)

def attention_masks(self, images: Tensor) -> List[Tensor]:
    logits, masks = self.residual_attention(images)
    return masks
