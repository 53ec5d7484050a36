# The exported captioner's methods (export_captioner in export/export.h):
# encode (the ResNet's locations, then the position channels, as
# CaptionNet::encode), forward (greedy), beam_search, caption, caption_batch
# and preprocess.
def encode(self, images: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
    values = self.resnet(images)
    if self.positions.size(1) > 0:
        assert values.size(1) == self.positions.size(0), "the image is not image_side x image_side"
        values = torch.cat([values, self.positions.unsqueeze(0).expand([values.size(0), -1, -1])], 2)
    return self.caption_start(values)

def limits(self, batch: int) -> List[int]:
    out: List[int] = []
    for b in range(batch):
        out.append(max(1, self.max_length))
    return out

def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
    memory, state = self.encode(images)
    ids, scores, alphas = self.greedy(memory, state, self.limits(images.size(0)))
    return ids, alphas

def beam_search(self, images: Tensor, beam: int) -> Tuple[Tensor, Tensor, Tensor]:
    memory, state = self.encode(images)
    if beam > 1:
        return self.beam(memory, state, self.limits(images.size(0)), beam, self.alpha)
    return self.greedy(memory, state, self.limits(images.size(0)))

def caption(self, image: Tensor, beam: int) -> str:
    if image.dim() == 3:
        image = image.unsqueeze(0)
    ids, scores, alphas = self.beam_search(image, beam)
    out: List[int] = ids[0].tolist()
    return self.text_caption(self.decode_caption(out))

def caption_batch(self, images: Tensor, beam: int) -> List[str]:
    # The images decoded as one batch (zoo-serve's request batching): a
    # caption per image, each as caption() gives it alone.
    ids, scores, alphas = self.beam_search(images, beam)
    out: List[str] = []
    for b in range(images.size(0)):
        row: List[int] = ids[b].tolist()
        out.append(self.text_caption(self.decode_caption(row)))
    return out

def preprocess(self, pixels: Tensor) -> Tensor:
    x = pixels.to(self.pixel_mean.dtype).div(255.0)
    if x.dim() == 3:
        x = x.unsqueeze(1).expand([x.size(0), 3, x.size(1), x.size(2)])
    else:
        x = x.permute([0, 3, 1, 2])
    return (x - self.pixel_mean) / self.pixel_std
