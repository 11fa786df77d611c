namespace Hivemind.Coordinator;
