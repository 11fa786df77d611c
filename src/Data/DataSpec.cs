namespace Hivemind.Data;
