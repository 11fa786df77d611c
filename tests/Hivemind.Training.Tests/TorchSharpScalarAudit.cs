using System.Reflection;
using System.Reflection.Emit;

namespace Hivemind.Training.Tests;

/// <summary>Reads IL to find which TorchSharp methods build a Scalar they do not hold, and which of our methods call them.</summary>
/// <remarks>
/// TorchSharp 0.107 never disposes the Scalars it makes from numbers (implicit conversions, <c>ToScalar</c>), so any method that
/// makes one, directly or through another method, can have it finalized mid-call. The set is computed from TorchSharp.dll
/// itself, so a TorchSharp upgrade is checked again rather than trusted.
/// </remarks>
internal static class TorchSharpScalarAudit
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    private static readonly Lazy<HashSet<MethodBase>> Unsafe = new(ComputeUnsafe);

    /// <summary>Every TorchSharp method (public or not) that makes a Scalar from a number, directly or through a callee.</summary>
    public static IReadOnlySet<MethodBase> UnsafeTorchSharpMethods => Unsafe.Value;

    /// <summary>The public ones, which our code could call: the list BannedSymbols.txt must hold.</summary>
    public static IEnumerable<MethodBase> PublicUnsafeTorchSharpMethods =>
        Unsafe.Value.Where(m => (m.IsPublic || m.IsFamily) && Visible(m.DeclaringType)).Where(HasLoadableSignature);

    /// <summary>True for the conversions that make a Scalar from a number (the roots of the problem).</summary>
    public static bool MakesScalar(MethodBase target) =>
        (target.DeclaringType?.FullName == "TorchSharp.Scalar" && target.Name == "op_Implicit")
        || (target.DeclaringType?.FullName == "TorchSharp.ScalarExtensionMethods" && target.Name == "ToScalar");

    /// <summary>Calls in <paramref name="type"/> (and its nested and compiler-generated types) to a Scalar-making conversion or an unsafe TorchSharp method.</summary>
    public static IEnumerable<string> UnsafeCallsIn(Type type)
    {
        foreach (var t in WithNested(type))
            foreach (var m in MethodsOf(t))
                foreach (var target in Callees(m))
                    if (MakesScalar(target) || Unsafe.Value.Contains(target))
                        yield return $"{type.Name}: {m.Name} calls {target.DeclaringType?.FullName}.{target.Name}({Parameters(target)})";
    }

    /// <summary>The documentation-comment ID of <paramref name="m"/>, the form BannedSymbols.txt uses.</summary>
    public static string DocId(MethodBase m)
    {
        var id = "M:" + DeclarationName(m.DeclaringType!) + "." + (m.IsConstructor ? "#ctor" : m.Name);
        if (m.IsGenericMethod) id += "``" + m.GetGenericArguments().Length;
        var ps = m.GetParameters();
        if (ps.Length > 0) id += "(" + string.Join(",", ps.Select(p => Reference(p.ParameterType))) + ")";
        if (m is MethodInfo mi && m.Name is "op_Implicit" or "op_Explicit") id += "~" + Reference(mi.ReturnType);
        return id;
    }

    private static HashSet<MethodBase> ComputeUnsafe()
    {
        var assembly = typeof(TorchSharp.Scalar).Assembly;
        Type[] types;
        try { types = assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = [.. e.Types.OfType<Type>()]; }
        var callees = new Dictionary<MethodBase, List<MethodBase>>();
        foreach (var t in types)
            foreach (var m in MethodsOf(t))
                callees[m] = [.. Callees(m)];
        // Scalar's own conversions are the roots, not callers; everything that reaches one is unsafe.
        var result = callees.Where(kv => !MakesScalar(kv.Key) && kv.Value.Any(MakesScalar)).Select(kv => kv.Key).ToHashSet();
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (var (m, cs) in callees)
                if (!result.Contains(m) && cs.Any(result.Contains))
                {
                    result.Add(m);
                    changed = true;
                }
        }
        return result;
    }

    private static IEnumerable<MethodBase> MethodsOf(Type t) =>
        t.GetMethods(Declared).Cast<MethodBase>().Concat(t.GetConstructors(Declared));

    private static IEnumerable<Type> WithNested(Type t) => t.GetNestedTypes(Declared).SelectMany(WithNested).Prepend(t);

    private static List<MethodBase> Callees(MethodBase m)
    {
        var result = new List<MethodBase>();
        byte[]? il;
        try { il = m.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is BadImageFormatException or FileNotFoundException or TypeLoadException) { return result; }
        if (il is null) return result;
        var typeArgs = m.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        var methodArgs = m.IsGenericMethod ? m.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            if (!OpCodesByValue.TryGetValue(value, out var op)) break;
            i += op.Size;
            int operand = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
            if (op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj || op == OpCodes.Ldftn || op == OpCodes.Ldvirtftn)
            {
                try
                {
                    if (m.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArgs, methodArgs) is { } target)
                        result.Add(target is MethodInfo { IsGenericMethod: true, IsGenericMethodDefinition: false } g ? g.GetGenericMethodDefinition() : target);
                }
                catch (Exception e) when (e is ArgumentException or BadImageFormatException or FileNotFoundException or TypeLoadException)
                {
                    // A callee in an assembly that is not deployed here (tensorboard's protobuf): not on our paths.
                }
            }
            i += operand;
        }
        return result;
    }

    private static bool Visible(Type? t)
    {
        for (; t is not null; t = t.DeclaringType)
            if (!(t.IsPublic || t.IsNestedPublic)) return false;
        return true;
    }

    private static bool HasLoadableSignature(MethodBase m)
    {
        try { _ = m.GetParameters(); return true; }
        catch (FileNotFoundException) { return false; }
    }

    private static string Parameters(MethodBase m)
    {
        try { return string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name)); }
        catch (FileNotFoundException) { return "?"; }
    }

    private static string DeclarationName(Type t) => t.FullName!.Replace('+', '.');

    private static string Reference(Type t)
    {
        if (t.IsByRef) return Reference(t.GetElementType()!) + "@";
        if (t.IsPointer) return Reference(t.GetElementType()!) + "*";
        if (t.IsArray) return Reference(t.GetElementType()!) + (t.GetArrayRank() == 1 ? "[]" : "[" + string.Join(",", Enumerable.Repeat("0:", t.GetArrayRank())) + "]");
        if (t.IsGenericParameter) return (t.DeclaringMethod is null ? "`" : "``") + t.GenericParameterPosition;
        if (t.IsGenericType)
        {
            var def = t.GetGenericTypeDefinition();
            var name = DeclarationName(def);
            name = name[..name.IndexOf('`', StringComparison.Ordinal)];
            return name + "{" + string.Join(",", t.GetGenericArguments().Select(Reference)) + "}";
        }
        return DeclarationName(t);
    }
}
