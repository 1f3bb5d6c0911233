/**
 * A local A2A server agent built with the official `@a2a-js/sdk` server (`DefaultRequestHandler`,
 * `InMemoryTaskStore`, `JsonRpcTransportHandler`), served by `Deno.serve` (the SDK's HTTP
 * adapter is Express-only; the few lines of HTTP here do what it does). Its executor answers
 * the first turn with an artifact and `input-required`, a follow-up on the same task with a
 * revised artifact and `completed`; a prompt containing "slow" works until cancelled.
 */
import {
  type AgentCard,
  AgentCard as AgentCardFns,
  formatSSEEvent,
  type Part,
  Role,
  TaskState,
} from "@a2a-js/sdk";
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  type RequestContext,
  ServerCallContext,
} from "@a2a-js/sdk/server";
import { agentCard } from "../../lib/a2a/mod.ts";
import { text, textOf } from "./helpers.ts";

/** The running test agent. */
export interface TestAgent {
  url: string;
  /** A2A task ids the SDK asked the executor to cancel. */
  cancels: string[];
  /** Prompts received, in order. */
  prompts: string[];
  close(): Promise<void>;
}

const now = () => new Date().toISOString();

class Executor implements AgentExecutor {
  readonly cancels: string[] = [];
  readonly prompts: string[] = [];
  private readonly waiting = new Map<string, () => void>();

  async execute(ctx: RequestContext, bus: ExecutionEventBus) {
    const prompt = textOf(ctx.userMessage.parts);
    this.prompts.push(prompt);
    const ids = { taskId: ctx.taskId, contextId: ctx.contextId };
    const status = (state: TaskState, words?: string) =>
      AgentEvent.statusUpdate({
        ...ids,
        status: {
          state,
          message: words === undefined ? undefined : {
            messageId: crypto.randomUUID(),
            ...ids,
            role: Role.ROLE_AGENT,
            parts: [text(words)],
            metadata: undefined,
            extensions: [],
            referenceTaskIds: [],
          },
          timestamp: now(),
        },
        metadata: undefined,
      });
    bus.publish(AgentEvent.task(
      ctx.task ?? {
        ...{ id: ctx.taskId, contextId: ctx.contextId },
        status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: now() },
        artifacts: [],
        history: [ctx.userMessage],
        metadata: undefined,
      },
    ));
    bus.publish(status(TaskState.TASK_STATE_WORKING, `thinking about: ${prompt}`));
    if (prompt.includes("slow")) {
      await new Promise<void>((r) => this.waiting.set(ctx.taskId, r));
      bus.publish(status(TaskState.TASK_STATE_CANCELED, "stopped"));
      bus.finished();
      return;
    }
    const revised = ctx.task !== undefined;
    const parts: Part[] = [text(revised ? `revised: ${prompt}` : `answer to: ${prompt}`)];
    bus.publish(AgentEvent.artifactUpdate({
      ...ids,
      artifact: {
        artifactId: revised ? "revised" : "answer",
        name: "answer.md",
        description: "",
        parts,
        metadata: undefined,
        extensions: [],
      },
      append: false,
      lastChunk: true,
      metadata: undefined,
    }));
    bus.publish(
      status(revised ? TaskState.TASK_STATE_COMPLETED : TaskState.TASK_STATE_INPUT_REQUIRED),
    );
    bus.finished();
  }

  cancelTask(taskId: string, _bus: ExecutionEventBus) {
    this.cancels.push(taskId);
    this.waiting.get(taskId)?.();
    return Promise.resolve();
  }
}

/** Starts the agent on a fresh loopback port. */
export function startTestAgent(opts: { streaming?: boolean } = {}): TestAgent {
  const executor = new Executor();
  const holder: { card?: AgentCard; rpc?: JsonRpcTransportHandler } = {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/.well-known/agent-card.json") {
      return Response.json(AgentCardFns.toJSON(holder.card!));
    }
    if (req.method !== "POST" || path !== "/") return new Response("not found", { status: 404 });
    const context = new ServerCallContext({
      requestedVersion: req.headers.get("a2a-version") ?? "1.0",
    });
    const out = await holder.rpc!.handle(await req.text(), context);
    if (!(Symbol.asyncIterator in out)) return Response.json(out);
    const enc = new TextEncoder();
    const it = out[Symbol.asyncIterator]();
    return new Response(
      new ReadableStream({
        async pull(ctl) {
          const next = await it.next();
          if (next.done) ctl.close();
          else ctl.enqueue(enc.encode(formatSSEEvent(next.value)));
        },
        async cancel() {
          await it.return?.(undefined);
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const card = agentCard("@local/agent", {}, `${url}/`);
  holder.card = {
    ...card,
    name: "test agent",
    supportedInterfaces: card.supportedInterfaces.filter((i) => i.protocolVersion === "1.0"),
    capabilities: { ...card.capabilities!, streaming: opts.streaming ?? true },
    securitySchemes: {},
    securityRequirements: [],
  };
  holder.rpc = new JsonRpcTransportHandler(
    new DefaultRequestHandler(holder.card, new InMemoryTaskStore(), executor),
  );
  return {
    url,
    cancels: executor.cancels,
    prompts: executor.prompts,
    close: () => server.shutdown(),
  };
}
