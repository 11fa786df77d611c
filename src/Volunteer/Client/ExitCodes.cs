namespace Hivemind.Volunteer.Client;

/// <summary>Process exit codes of the volunteer.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int BadArguments = 2;
    public const int Banned = 3;
    public const int Refused = 4;
}
