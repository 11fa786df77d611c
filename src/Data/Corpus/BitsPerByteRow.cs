namespace Hivemind.Data;

/// <summary>One row of a bits-per-byte table, as The Pile's paper reports per component.</summary>
/// <param name="Component">Component name, or <see cref="BitsPerByteTable.Overall"/>.</param>
/// <param name="Documents">Documents scored.</param>
/// <param name="TextBytes">UTF-8 bytes of their text: the denominator.</param>
/// <param name="BitsPerByte">Total bits (model: cross-entropy / ln 2; compressor: compressed size × 8) over text bytes.</param>
public sealed record BitsPerByteRow(string Component, long Documents, long TextBytes, double BitsPerByte);
