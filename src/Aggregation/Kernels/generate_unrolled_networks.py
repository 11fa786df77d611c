#!/usr/bin/env python3
"""Writes UnrolledNetworks.g.cs: Batcher networks for fixed n as straight-line code on locals.

Run from this folder: python3 generate_unrolled_networks.py
The comparator list is the one SortingNetwork.Build makes (same Batcher network, same pruning),
emitted in merge-tree post-order (each 16-wire block is sorted completely before the merges that
read it), so the JIT keeps a block's values in registers instead of a stack array.
"""

SIZES = [16]


def batcher(n):
    size = 1
    while size < n:
        size <<= 1
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            j = k % p
            while j <= size - 1 - k:
                for i in range(0, min(k - 1, size - j - k - 1) + 1):
                    a, b = i + j, i + j + k
                    if a // (2 * p) == b // (2 * p) and b < n:
                        pairs.append((a, b, p))
                j += 2 * k
            k >>= 1
        p <<= 1
    return pairs


def prune(pairs, n, lo, hi):
    needed = [lo <= i <= hi for i in range(n)]
    kept = []
    for a, b, p in reversed(pairs):
        if needed[a] or needed[b]:
            needed[a] = needed[b] = True
            kept.append((a, b, p))
    kept.reverse()
    return kept


def post_order(pairs):
    # Node of a comparator in phase p: the 2p-wire block it merges. Post-order: by block end, then size.
    keyed = [((a // (2 * p) + 1) * 2 * p, 2 * p, idx, a, b) for idx, (a, b, p) in enumerate(pairs)]
    keyed.sort()
    return [(a, b) for _, _, _, a, b in keyed]


def method(n, vec, lanes, name, pairs, median):
    lines = []
    w = lines.append
    w(f"    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
    w(f"    private static int {name}(nint* rows, float* output, int start, int end, int lo, int hi, float scale, {vec}<float>* sorted)")
    w("    {")
    w("        int j = start;")
    w(f"        for (; j + {lanes} <= end; j += {lanes})")
    w("        {")
    loaded = set()

    def use(i):
        if i not in loaded:
            loaded.add(i)
            w(f"            {vec}<float> r{i} = {vec}.Load((float*)rows[{i}] + j);")
            w(f"            Prefetch((float*)rows[{i}] + j + PrefetchFloats);")

    w(f"            {vec}<float> t;")
    for a, b in pairs:
        use(a)
        use(b)
        w(f"            t = r{a}; r{a} = {vec}.MinNative(t, r{b}); r{b} = {vec}.MaxNative(t, r{b});")
    if median:
        lo, hi = (n - 1) // 2, n // 2
        use(lo)
        use(hi)
        if lo == hi:
            w(f"            (r{lo} * scale).Store(output + j);")
        else:
            w(f"            ((r{lo} + r{hi}) * scale).Store(output + j);")
    else:
        for i in range(n):
            use(i)
            w(f"            sorted[{i}] = r{i};")
        w(f"            {vec}<float> sum = sorted[lo];")
        w("            for (int k = lo + 1; k <= hi; k++)")
        w("            {")
        w("                sum += sorted[k];")
        w("            }")
        w("")
        w("            (sum * scale).Store(output + j);")
    w("        }")
    w("")
    w("        return j;")
    w("    }")
    return "\n".join(lines)


MERGED_SIZES = [32, 64]


def merged_method(n, vec, lanes, name, median):
    """n = 16 * 2^m: sort 16-wire blocks in registers (Batcher), then bitonic-style merges whose
    long-distance stages run on the scratch buffer and whose distance <= 8 stages run on one
    16-wire block in registers. Median (even n): after the last flip stage the lower half holds
    the n/2 smallest, so rank n/2-1 is the max of the lower half and rank n/2 the min of the upper."""
    lines = []
    w = lines.append
    block16 = post_order(batcher(16))
    w(f"    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
    w(f"    private static int {name}(nint* rows, float* output, int start, int end, int lo, int hi, float scale, {vec}<float>* b)")
    w("    {")
    w("        int j = start;")
    w(f"        for (; j + {lanes} <= end; j += {lanes})")
    w("        {")
    w(f"            {vec}<float> t, u;")
    decl = ", ".join(f"v{i}" for i in range(16))
    w(f"            {vec}<float> {decl};")

    def cmp_regs(a, c):
        w(f"            t = v{a}; v{a} = {vec}.MinNative(t, v{c}); v{c} = {vec}.MaxNative(t, v{c});")

    def cmp_mem(a, c):
        w(f"            t = b[{a}]; u = b[{c}]; b[{a}] = {vec}.MinNative(t, u); b[{c}] = {vec}.MaxNative(t, u);")

    def sort_block(base):
        for i in range(16):
            w(f"            v{i} = {vec}.Load((float*)rows[{base + i}] + j);")
            w(f"            Prefetch((float*)rows[{base + i}] + j + PrefetchFloats);")
        for a, c in block16:
            cmp_regs(a, c)
        for i in range(16):
            w(f"            b[{base + i}] = v{i};")

    def clean_block(base, final):
        indent = ""
        if final and not median:
            w(f"            if (lo < {base + 16} && hi >= {base})")
            w("            {")
        for i in range(16):
            w(f"            v{i} = b[{base + i}];")
        for dist in (8, 4, 2, 1):
            for i in range(16):
                if i & dist == 0:
                    cmp_regs(i, i + dist)
        for i in range(16):
            w(f"            b[{base + i}] = v{i};")
        if final and not median:
            w("            }")
            w("")

    def clean(base, size, final):
        if size == 16:
            clean_block(base, final)
            return
        h = size // 2
        for i in range(h):
            cmp_mem(base + i, base + i + h)
        clean(base, h, final)
        clean(base + h, h, final)

    def sort(base, size, top):
        if size == 16:
            sort_block(base)
            return
        h = size // 2
        sort(base, h, False)
        sort(base + h, h, False)
        if top and median:
            # Flip stage fused with the reductions: min(x_i, x_{n-1-i}) are the n/2 smallest.
            w(f"            {vec}<float> lowMax = {vec}.MinNative(b[{base}], b[{base + size - 1}]);")
            w(f"            {vec}<float> highMin = {vec}.MaxNative(b[{base}], b[{base + size - 1}]);")
            for i in range(1, h):
                w(f"            t = b[{base + i}]; u = b[{base + size - 1 - i}];")
                w(f"            lowMax = {vec}.MaxNative(lowMax, {vec}.MinNative(t, u)); highMin = {vec}.MinNative(highMin, {vec}.MaxNative(t, u));")
            w("            ((lowMax + highMin) * scale).Store(output + j);")
            return
        for i in range(h):
            cmp_mem(base + i, base + size - 1 - i)
        clean(base, h, top)
        clean(base + h, h, top)

    sort(0, n, True)
    if not median:
        w(f"            {vec}<float> sum = b[lo];")
        w("            for (int k = lo + 1; k <= hi; k++)")
        w("            {")
        w("                sum += b[k];")
        w("            }")
        w("")
        w("            (sum * scale).Store(output + j);")
    w("        }")
    w("")
    w("        return j;")
    w("    }")
    return "\n".join(lines)


def main():
    out = []
    w = out.append
    w("// <auto-generated> by generate_unrolled_networks.py; do not edit by hand. </auto-generated>")
    w("using System.Runtime.CompilerServices;")
    w("using System.Runtime.Intrinsics;")
    w("")
    w("namespace Hivemind.Aggregation.Kernels;")
    w("")
    w("/// <summary>Sorting networks for n in {" + ", ".join(map(str, SIZES + MERGED_SIZES)) + "} unrolled onto locals (registers): full sort, and the median.</summary>")
    w("internal static unsafe partial class UnrolledNetworks")
    w("{")
    w("    /// <summary>Input counts with an unrolled network.</summary>")
    w("    public static bool Supports(int n) => n is " + " or ".join(map(str, SIZES + MERGED_SIZES)) + ";")
    w("")
    for vec, lanes, suffix in [("Vector256", 8, "256"), ("Vector512", 16, "512")]:
        w(f"    /// <summary>Processes whole {lanes}-lane blocks from start; returns where it stopped (the tail is left to the caller).</summary>")
        w(f"    public static int Run{suffix}(int n, bool median, nint* rows, float* output, int start, int end, int lo, int hi, float scale, {vec}<float>* sorted) => (n, median) switch")
        w("    {")
        for n in SIZES + MERGED_SIZES:
            w(f"        ({n}, true) => Median{n}x{suffix}(rows, output, start, end, lo, hi, scale, sorted),")
            w(f"        ({n}, false) => Sort{n}x{suffix}(rows, output, start, end, lo, hi, scale, sorted),")
        w("        _ => start,")
        w("    };")
        w("")
    for vec, lanes, suffix in [("Vector256", 8, "256"), ("Vector512", 16, "512")]:
        for n in MERGED_SIZES:
            w(merged_method(n, vec, lanes, f"Sort{n}x{suffix}", False))
            w("")
            w(merged_method(n, vec, lanes, f"Median{n}x{suffix}", True))
            w("")
        for n in SIZES:
            full = batcher(n)
            w(method(n, vec, lanes, f"Sort{n}x{suffix}", post_order(full), False))
            w("")
            w(method(n, vec, lanes, f"Median{n}x{suffix}", post_order(prune(full, n, (n - 1) // 2, n // 2)), True))
            w("")
    out[-1] = "}"
    open("UnrolledNetworks.g.cs", "w").write("\n".join(out) + "\n")
    for n in SIZES:
        print(n, len(batcher(n)), len(prune(batcher(n), n, (n - 1) // 2, n // 2)))


main()
