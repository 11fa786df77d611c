namespace Hivemind.Aggregation.Spec;

/// <summary>
/// Parses <c>stage ( "|" stage )*</c> where <c>stage = name [ "(" key=value { "," key=value } ")" ]</c>.
/// Hand-written: the grammar is a dozen lines and errors must carry the column of the bad token.
/// </summary>
internal static class SpecParser
{
    public static IReadOnlyList<SpecStage> Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var stages = new List<SpecStage>();
        int position = 0;
        while (true)
        {
            stages.Add(ParseStage(spec, ref position));
            SkipSpaces(spec, ref position);
            if (position == spec.Length)
            {
                return stages;
            }

            if (spec[position] != '|')
            {
                throw new SpecParseException(spec, position + 1, $"expected \"|\" or the end, found \"{spec[position]}\"");
            }

            position++;
        }
    }

    private static SpecStage ParseStage(string spec, ref int position)
    {
        SkipSpaces(spec, ref position);
        int nameStart = position;
        string name = ReadWord(spec, ref position);
        if (name.Length == 0)
        {
            string found = position < spec.Length ? $"\"{spec[position]}\"" : "the end";
            throw new SpecParseException(spec, nameStart + 1, $"expected a rule name, found {found}");
        }

        var arguments = new List<SpecArgument>();
        SkipSpaces(spec, ref position);
        if (position < spec.Length && spec[position] == '(')
        {
            position++;
            SkipSpaces(spec, ref position);
            if (position < spec.Length && spec[position] == ')')
            {
                position++;
                return new SpecStage(spec, name.ToLowerInvariant(), nameStart + 1, arguments);
            }

            while (true)
            {
                SkipSpaces(spec, ref position);
                int keyStart = position;
                string key = ReadWord(spec, ref position);
                if (key.Length == 0)
                {
                    throw new SpecParseException(spec, keyStart + 1, $"{name}: expected a parameter name like f");
                }

                if (arguments.Any(a => a.Key == key))
                {
                    throw new SpecParseException(spec, keyStart + 1, $"{name}: parameter \"{key}\" given twice");
                }

                SkipSpaces(spec, ref position);
                Expect(spec, ref position, '=', $"{name}: expected \"=\" after \"{key}\"");
                SkipSpaces(spec, ref position);
                int valueStart = position;
                while (position < spec.Length && spec[position] is not (',' or ')' or '|' or ' '))
                {
                    position++;
                }

                if (position == valueStart)
                {
                    throw new SpecParseException(spec, valueStart + 1, $"{name}: expected a value for \"{key}\"");
                }

                arguments.Add(new SpecArgument(key.ToLowerInvariant(), keyStart + 1, spec[valueStart..position], valueStart + 1));
                SkipSpaces(spec, ref position);
                if (position < spec.Length && spec[position] == ',')
                {
                    position++;
                    continue;
                }

                Expect(spec, ref position, ')', $"{name}: expected \",\" or \")\"");
                break;
            }
        }

        return new SpecStage(spec, name.ToLowerInvariant(), nameStart + 1, arguments);
    }

    private static string ReadWord(string spec, ref int position)
    {
        int start = position;
        while (position < spec.Length && (char.IsLetterOrDigit(spec[position]) || spec[position] is '-' or '_'))
        {
            position++;
        }

        return spec[start..position];
    }

    private static void Expect(string spec, ref int position, char expected, string problem)
    {
        if (position >= spec.Length || spec[position] != expected)
        {
            string found = position < spec.Length ? $"\"{spec[position]}\"" : "the end";
            throw new SpecParseException(spec, position + 1, $"{problem}, found {found}");
        }

        position++;
    }

    private static void SkipSpaces(string spec, ref int position)
    {
        while (position < spec.Length && char.IsWhiteSpace(spec[position]))
        {
            position++;
        }
    }
}
