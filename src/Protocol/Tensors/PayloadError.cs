namespace Hivemind.Protocol.Tensors;

/// <summary>What exactly is wrong with a tensor payload; each value is a distinct decode failure.</summary>
public enum PayloadError
{
    /// <summary>The payload (or what its header declares) exceeds the size limit.</summary>
    Oversized = 1,
    /// <summary>The payload ends before the header or data it declares.</summary>
    Truncated,
    /// <summary>Bytes remain after the last tensor.</summary>
    TrailingBytes,
    /// <summary>The payload does not start with the magic bytes <c>HMTP</c>.</summary>
    BadMagic,
    /// <summary>The payload format version is not one this build reads.</summary>
    UnsupportedFormat,
    /// <summary>The codec byte is not a <see cref="PayloadCodec"/>.</summary>
    UnknownCodec,
    /// <summary>Reserved header bytes are not zero.</summary>
    ReservedNotZero,
    /// <summary>More tensors than the limit.</summary>
    TooManyTensors,
    /// <summary>A tensor name is empty, too long, or not valid UTF-8.</summary>
    BadName,
    /// <summary>Two tensors have the same name.</summary>
    DuplicateName,
    /// <summary>A tensor has more dimensions than the limit.</summary>
    RankTooLarge,
    /// <summary>A dimension is negative, or the element count overflows.</summary>
    BadShape,
    /// <summary>An int8 or top-k block scale is NaN, infinite or negative.</summary>
    NonFiniteScale,
    /// <summary>A top-k block's positions are out of range, unsorted or repeated, or its padding bits are not zero.</summary>
    BadIndex,
    /// <summary>The header's codec parameter (values kept per block) is outside the codec's range.</summary>
    BadCodecParameter,
    /// <summary>A compressed plane (<see cref="Fp32ShuffleZstd"/>) has an unknown mode, a wrong length, or zstd data that is corrupt or does not declare or decode to exactly the plane's size.</summary>
    BadCompression,
}
