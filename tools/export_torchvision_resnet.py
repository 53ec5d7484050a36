#!/usr/bin/env python3
"""Save torchvision ResNet weights in a file the C++ ResNet loads by name.

The C++ encoder (models/resnet.h) uses torchvision's parameter names, so this
writes a plain torch.save'd dict of name -> tensor, which C++ reads with
torch::pickle_load. Nothing is downloaded: pass ImageNet weights you already
have (torchvision's .pth file), or --random for freshly initialised weights.

    tools/export_torchvision_resnet.py --arch resnet18 --pth resnet18-f37072fd.pth --out resnet18.pt
    tools/export_torchvision_resnet.py --arch resnet18 --random --seed 0 --out w.pt --sample sample.pt

--sample also writes a fixed input batch and torchvision's trunk output for it
(the layer4 feature map, before pooling), for the parity test.
"""
import argparse
import sys

import torch
import torchvision


def trunk(model, x):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    return model.layer4(model.layer3(model.layer2(model.layer1(x))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=["resnet18", "resnet34", "resnet50"], default="resnet18")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pth", help="torchvision state dict file (e.g. resnet18-f37072fd.pth)")
    source.add_argument("--random", action="store_true", help="randomly initialised weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="file for C++ (name -> tensor)")
    parser.add_argument("--sample", help="also write {input, output} of the trunk here")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = getattr(torchvision.models, args.arch)()
    if args.pth:
        try:
            state = torch.load(args.pth, map_location="cpu")
        except (OSError, RuntimeError) as e:
            sys.exit(f"export_torchvision_resnet: {args.pth}: cannot read ({e})")
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys:
            sys.exit(f"export_torchvision_resnet: {args.pth}: missing {', '.join(result.missing_keys)}")
    else:
        # Non-trivial BatchNorm statistics, so that the test checks them too.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.2, 0.2)
    model.eval()
    torch.save({k: v.contiguous() for k, v in model.state_dict().items()}, args.out)
    print(f"wrote {args.out}: {len(model.state_dict())} tensors of {args.arch}")
    if args.sample:
        x = torch.randn(2, 3, 96, 128)
        with torch.no_grad():
            y = trunk(model, x)
        torch.save({"input": x, "output": y}, args.sample)
        print(f"wrote {args.sample}: input {tuple(x.shape)}, output {tuple(y.shape)}")


if __name__ == "__main__":
    main()
