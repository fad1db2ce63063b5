"""M2U-Net's layer list for given channel counts, in execution order.

Mirrors runtime/src/model/architecture.cpp (same names, shapes and order);
the network itself is described in weights/M2UNET.md. Used for the
tensor set of a .m2u file and for mapping an ONNX graph onto the network.
Pure Python: no numpy or torch.
"""

from collections import namedtuple

# One convolution: state_dict prefix `name`, its BatchNorm prefix `bn`
# ('' for the final conv, which has its own bias), shape, and whether the
# hidden activation follows it.
Conv = namedtuple("Conv", "name bn cin cout kernel stride groups act")

# Inverted residual block: `convs` are [expand,] depthwise, project.
Block = namedtuple("Block", "name cin cout hidden stride residual convs")

# A named stage output: its blocks, output channels, resolution divisor.
# Stage 'decode1' ends at decode1.ir1 (16 channels); `final` follows it.
Stage = namedtuple("Stage", "name blocks cout downscale")

Architecture = namedtuple("Architecture", "in_channels out_channels stem stages final")

DECODER_EXPANSION = 0.15


def weight_shape(conv):
    """PyTorch weight shape [out, in/groups, k, k]."""
    return (conv.cout, conv.cin // conv.groups, conv.kernel, conv.kernel)


def _block(name, cin, cout, stride, t):
    hidden = round(cin * t)
    p = name + ".conv."
    if t != 1:
        convs = (
            Conv(p + "0", p + "1", cin, hidden, 1, 1, 1, True),
            Conv(p + "3", p + "4", hidden, hidden, 3, stride, hidden, True),
            Conv(p + "6", p + "7", hidden, cout, 1, 1, 1, False),
        )
    else:
        convs = (
            Conv(p + "0", p + "1", hidden, hidden, 3, stride, hidden, True),
            Conv(p + "3", p + "4", hidden, cout, 1, 1, 1, False),
        )
    return Block(name, cin, cout, hidden, stride, stride == 1 and cin == cout, convs)


def make_architecture(in_channels, out_channels):
    """The layer list of M2U-Net with Cin = in_channels, Cout = out_channels."""
    t = DECODER_EXPANSION
    stem = Conv("conv1.0.0", "conv1.0.1", in_channels, 32, 3, 2, 1, True)
    conv4 = [_block("conv4.7", 32, 64, 2, 6)]
    conv4 += [_block("conv4.%d" % i, 64, 64, 1, 6) for i in (8, 9, 10)]
    conv4 += [_block("conv4.11", 64, 96, 1, 6)]
    conv4 += [_block("conv4.%d" % i, 96, 96, 1, 6) for i in (12, 13)]
    stages = (
        Stage("conv1", (_block("conv1.1", 32, 16, 1, 1),), 16, 2),
        Stage("conv2", (_block("conv2.2", 16, 24, 2, 6), _block("conv2.3", 24, 24, 1, 6)), 24, 4),
        Stage("conv3", (_block("conv3.4", 24, 32, 2, 6), _block("conv3.5", 32, 32, 1, 6),
                        _block("conv3.6", 32, 32, 1, 6)), 32, 8),
        Stage("conv4", tuple(conv4), 96, 16),
        Stage("decode4", (_block("decode4.ir1", 96 + 32, 64, 1, t),), 64, 8),
        Stage("decode3", (_block("decode3.ir1", 64 + 24, 44, 1, t),), 44, 4),
        Stage("decode2", (_block("decode2.ir1", 44 + 16, 30, 1, t),), 30, 2),
        Stage("decode1", (_block("decode1.ir1", 30 + in_channels, 16, 1, t),), 16, 1),
    )
    final = Conv("decode1.conv.0", "", 16, out_channels, 1, 1, 1, False)
    return Architecture(in_channels, out_channels, stem, stages, final)


def all_convs(arch):
    """Every convolution in execution order (stem, blocks, final)."""
    convs = [arch.stem]
    for stage in arch.stages:
        for block in stage.blocks:
            convs.extend(block.convs)
    convs.append(arch.final)
    return convs
