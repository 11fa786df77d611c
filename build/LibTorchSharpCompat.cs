// Makes TorchSharp 0.107.0's native library load on hosts whose libstdc++ predates GCC 13
// (Debian 12 ships GLIBCXX_3.4.30).
//
// Why this is safe: libLibTorchSharp.so was linked against GCC 13's libstdc++, whose <iostream>
// references the marker `std::ios_base_library_init()` (versioned GLIBCXX_3.4.32) so that the
// newer library gets linked. Nothing calls it and no relocation uses it: the only symbol that
// needs GLIBCXX_3.4.32 is that marker. Marking the version requirement weak (VER_FLG_WEAK in
// its Vernaux entry) lets glibc's loader accept an older libstdc++, which initialises iostreams
// as before. We check every one of those facts before touching a byte, and patch only a copy.
//
// No ELF library is available as a NuGet package here that edits version-needs entries, so this
// is a small hand-written reader for exactly the sections involved (ELF64 little-endian only).
//
// This one file serves two builds: MSBuild compiles it as an inline task (the build-time patch)
// and Hivemind.Training compiles it with HIVEMIND_RUNTIME defined (the diagnosis when the
// native library fails to load at run time).
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace Hivemind.Build
{
    /// <summary>Reads and patches the GNU version-needs of an ELF64 shared library.</summary>
    public static class ElfVersionNeeds
    {
        public const string SoftenableVersion = "GLIBCXX_3.4.32";
        public const string MarkerSymbol = "_ZSt21ios_base_library_initv";
        private const ushort VerFlagWeak = 0x2;
        private const uint ShtDynSym = 11;
        private const uint ShtGnuVerNeed = 0x6ffffffe;
        private const uint ShtGnuVerSym = 0x6fffffff;

        /// <summary>One version a library needs from another.</summary>
        public sealed class Need
        {
            public string File = "";
            public string Version = "";
            public ushort Flags;
            public ushort Index;
            public long FlagsOffset;
            public bool Weak => (Flags & VerFlagWeak) != 0;
        }

        /// <summary>The outcome of <see cref="Plan"/>: what to patch, or why we cannot.</summary>
        public sealed class PatchPlan
        {
            public List<Need> ToSoften = new List<Need>();
            public string? Error;
            public bool NothingToDo => Error == null && ToSoften.Count == 0;
        }

        public static List<Need> ReadNeeds(byte[] elf, string path)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException($"{path} is not an ELF file.");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file; only linux-x64 is handled.");
            var sections = ReadSections(elf);
            var verneed = sections.FirstOrDefault(s => s.Type == ShtGnuVerNeed)
                ?? throw new InvalidDataException($"{path} has no .gnu.version_r section.");
            var strtab = sections[(int)verneed.Link];
            var needs = new List<Need>();
            long at = verneed.Offset;
            for (int i = 0; i < (int)verneed.Info; i++)
            {
                ushort cnt = U16(elf, at + 2);
                string file = Str(elf, strtab.Offset + U32(elf, at + 4));
                uint aux = U32(elf, at + 8);
                uint next = U32(elf, at + 12);
                long a = at + aux;
                for (int j = 0; j < cnt; j++)
                {
                    needs.Add(new Need
                    {
                        File = file,
                        Flags = U16(elf, a + 4),
                        Index = U16(elf, a + 6),
                        Version = Str(elf, strtab.Offset + U32(elf, a + 8)),
                        FlagsOffset = a + 4,
                    });
                    uint anext = U32(elf, a + 12);
                    if (anext == 0) break;
                    a += anext;
                }
                if (next == 0) break;
                at += next;
            }
            return needs;
        }

        /// <summary>Names of the dynamic symbols bound to version index <paramref name="index"/>.</summary>
        public static List<string> SymbolsWithVersion(byte[] elf, ushort index)
        {
            var sections = ReadSections(elf);
            var dynsym = sections.First(s => s.Type == ShtDynSym);
            var versym = sections.First(s => s.Type == ShtGnuVerSym);
            var strtab = sections[(int)dynsym.Link];
            long count = dynsym.Size / 24;
            var names = new List<string>();
            for (long i = 0; i < count; i++)
            {
                if ((U16(elf, versym.Offset + 2 * i) & 0x7fff) != index) continue;
                names.Add(Str(elf, strtab.Offset + U32(elf, dynsym.Offset + 24 * i)));
            }
            return names;
        }

        /// <summary>The GLIBCXX/CXXABI versions a libstdc++ defines (its version names are plain strings in .dynstr).</summary>
        public static bool Defines(byte[] libstdcxx, string version)
        {
            var needle = Encoding.ASCII.GetBytes(version + "\0");
            return IndexOf(libstdcxx, needle) >= 0;
        }

        /// <summary>Finds the libstdc++.so.6 the dynamic loader would pick, or null.</summary>
        public static string? FindHostLibStdCxx()
        {
            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
            };
            return candidates.FirstOrDefault(File.Exists);
        }

        /// <summary>Decides what must be softened for <paramref name="lib"/> to load against <paramref name="host"/>.</summary>
        public static PatchPlan Plan(byte[] lib, string libPath, byte[] host, string hostPath)
        {
            var plan = new PatchPlan();
            var missing = ReadNeeds(lib, libPath)
                .Where(n => n.File.StartsWith("libstdc++", StringComparison.Ordinal) && !n.Weak && !Defines(host, n.Version))
                .ToList();
            var other = missing.Where(n => n.Version != SoftenableVersion).Select(n => n.Version).ToList();
            if (other.Count > 0)
            {
                plan.Error = $"{Path.GetFileName(libPath)} needs {string.Join(", ", other)} from libstdc++, which {hostPath} does not provide. " +
                             "Only GLIBCXX_3.4.32 can be softened safely. Install a newer libstdc++ (GCC 13 or later: Debian 13, Ubuntu 24.04, Fedora 39+) " +
                             "or use the TorchSharp version pinned in Directory.Packages.props (0.107.0).";
                return plan;
            }
            foreach (var need in missing)
            {
                var users = SymbolsWithVersion(lib, need.Index);
                if (users.Count != 1 || users[0] != MarkerSymbol)
                {
                    plan.Error = $"{Path.GetFileName(libPath)} binds [{string.Join(", ", users)}] to {need.Version}; only the unused marker {MarkerSymbol} " +
                                 $"is safe to soften, so this library cannot be patched. Install GCC 13's libstdc++ (Debian 13, Ubuntu 24.04) instead.";
                    return plan;
                }
                plan.ToSoften.Add(need);
            }
            return plan;
        }

        /// <summary>Returns a patched copy of <paramref name="lib"/> with the planned versions marked weak.</summary>
        public static byte[] Apply(byte[] lib, PatchPlan plan)
        {
            var copy = (byte[])lib.Clone();
            foreach (var need in plan.ToSoften)
            {
                ushort flags = (ushort)(need.Flags | VerFlagWeak);
                copy[need.FlagsOffset] = (byte)(flags & 0xff);
                copy[need.FlagsOffset + 1] = (byte)(flags >> 8);
            }
            return copy;
        }

        /// <summary>
        /// Patches <paramref name="target"/> in place if needed, by writing a new file and renaming it over the old
        /// one: the old inode (which may be a hard link into the NuGet cache) is never written.
        /// Returns a line for the build log, or throws with a message that says what to install.
        /// </summary>
        public static string PatchFile(string target)
        {
            string? hostPath = FindHostLibStdCxx();
            if (hostPath == null) return $"no libstdc++.so.6 found in the usual places; {target} left as shipped";
            var lib = File.ReadAllBytes(target);
            var plan = Plan(lib, target, File.ReadAllBytes(hostPath), hostPath);
            if (plan.Error != null) throw new InvalidOperationException(plan.Error);
            if (plan.NothingToDo) return $"{hostPath} provides every version {Path.GetFileName(target)} needs; nothing to patch";
            var stamp = File.GetLastWriteTimeUtc(target);
            string temp = target + ".patching";
            File.WriteAllBytes(temp, Apply(lib, plan));
            // Keep the source's timestamp so MSBuild's incremental copy sees "unchanged" and keeps our copy.
            File.SetLastWriteTimeUtc(temp, stamp);
            // Delete then rename (netstandard has no overwriting Move): never open the old inode for writing.
            File.Delete(target);
            File.Move(temp, target);
            return $"marked {string.Join(", ", plan.ToSoften.Select(n => n.Version))} weak in {target} ({hostPath} lacks it)";
        }

        private sealed class Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
            public uint Info;
        }

        private static List<Section> ReadSections(byte[] elf)
        {
            long shoff = (long)U64(elf, 0x28);
            ushort shentsize = U16(elf, 0x3a);
            ushort shnum = U16(elf, 0x3c);
            var list = new List<Section>(shnum);
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * shentsize;
                list.Add(new Section
                {
                    Type = U32(elf, h + 4),
                    Offset = (long)U64(elf, h + 0x18),
                    Size = (long)U64(elf, h + 0x20),
                    Link = U32(elf, h + 0x28),
                    Info = U32(elf, h + 0x2c),
                });
            }
            return list;
        }

        private static ushort U16(byte[] b, long o) => (ushort)(b[o] | (b[o + 1] << 8));
        private static uint U32(byte[] b, long o) => (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));
        private static ulong U64(byte[] b, long o) => U32(b, o) | ((ulong)U32(b, o + 4) << 32);

        private static string Str(byte[] b, long o)
        {
            long end = o;
            while (end < b.Length && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, (int)o, (int)(end - o));
        }

        private static int IndexOf(byte[] hay, byte[] needle)
        {
            // netstandard2.0 (what inline tasks compile against) has no span search; a plain scan of ~2 MB is fine.
            for (int i = 0; i + needle.Length <= hay.Length; i++)
            {
                int k = 0;
                while (k < needle.Length && hay[i + k] == needle[k]) k++;
                if (k == needle.Length) return i;
            }
            return -1;
        }
    }

#if !HIVEMIND_RUNTIME
    /// <summary>MSBuild task: patches the copies of libLibTorchSharp.so in an output folder.</summary>
    public sealed class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public string[] Files { get; set; } = Array.Empty<string>();

        public override bool Execute()
        {
            foreach (var file in Files.Where(File.Exists))
            {
                try
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "LibTorchSharp: " + ElfVersionNeeds.PatchFile(file));
                }
                catch (Exception e)
                {
                    Log.LogError("HM0001", null, null, file, 0, 0, 0, 0, "{0}", e.Message);
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
