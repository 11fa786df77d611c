using Hivemind.Protocol.V1;

namespace Hivemind.Protocol.Tests.Contract;

/// <summary>Locks the wire contract: RPC names and streaming shapes, and that every request carries protocol_version.</summary>
public sealed class ProtoContractTests
{
    [Fact]
    public void CoordinatorServiceHasTheAgreedRpcs()
    {
        var service = HivemindReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Coordinator");
        Assert.Equal("hivemind.v1.Coordinator", service.FullName);
        var shapes = service.Methods.ToDictionary(m => m.Name, m => (m.IsClientStreaming, m.IsServerStreaming));
        Assert.Equal(new Dictionary<string, (bool, bool)>
        {
            ["GetChallenge"] = (false, false),
            ["Join"] = (false, false),
            ["RequestWork"] = (false, false),
            ["DownloadParameters"] = (false, true),
            ["SubmitUpdate"] = (true, false),
            ["Heartbeat"] = (false, false),
            ["Leave"] = (false, false),
            ["GetStatus"] = (false, false),
        }, shapes);
    }

    [Fact]
    public void EveryRequestCarriesProtocolVersion()
    {
        var service = HivemindReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Coordinator");
        foreach (var method in service.Methods)
        {
            // Streams carry it in their first message (UpdateHeader) instead of the oneof wrapper.
            var request = method.Name == "SubmitUpdate" ? UpdateHeader.Descriptor : method.InputType;
            var field = request.FindFieldByName("protocol_version");
            Assert.True(field is not null, $"{method.Name}'s request {request.Name} has no protocol_version");
            Assert.Equal(Google.Protobuf.Reflection.FieldType.UInt32, field.FieldType);
        }
    }

    [Fact]
    public void StatusReplyKeepsItsFirstTwoFieldNumbers()
    {
        // A stack test and older clients rely on these numbers.
        Assert.Equal(1, StatusReply.ProtocolVersionFieldNumber);
        Assert.Equal(2, StatusReply.RoundFieldNumber);
    }
}
