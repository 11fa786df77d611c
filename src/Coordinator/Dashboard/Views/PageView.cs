namespace Hivemind.Coordinator.Dashboard.Views;

/// <summary>One page of a list: <see cref="Total"/> items exist, these are <see cref="Offset"/> onwards.</summary>
public sealed record PageView<T>(long Total, int Offset, int Limit, IReadOnlyList<T> Items);
