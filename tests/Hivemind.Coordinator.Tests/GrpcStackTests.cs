using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Protocol.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Hivemind.Coordinator.Tests;

/// <summary>Proves that a gRPC service answers in-process over ASP.NET Core's test server.</summary>
public sealed class GrpcStackTests
{
    private sealed class StubCoordinator : Protocol.V1.Coordinator.CoordinatorBase
    {
        public override Task<StatusReply> GetStatus(StatusRequest request, ServerCallContext context) =>
            Task.FromResult(new StatusReply { ProtocolVersion = 1, Round = 42 });
    }

    [Fact]
    public async Task ServiceAnswersInProcess()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddGrpc();
        await using var app = builder.Build();
        app.MapGrpcService<StubCoordinator>();
        await app.StartAsync();
        using var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = app.GetTestServer().CreateHandler() });
        var reply = await new Protocol.V1.Coordinator.CoordinatorClient(channel).GetStatusAsync(new StatusRequest());
        Assert.Equal(42UL, reply.Round);
    }
}
