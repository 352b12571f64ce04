import type { z } from 'zod';
import { envelopeSchema, type EventEnvelope } from './envelope';

/** The event types one topic may carry, each with the schema of its `data`. */
export interface TopicContract<TEvents extends Record<string, z.ZodType> = Record<string, z.ZodType>> {
  readonly topic: string;
  readonly deadLetterTopic: string;
  readonly events: TEvents;
}

export function defineTopic<TEvents extends Record<string, z.ZodType>>(topic: string, events: TEvents): TopicContract<TEvents> {
  return { topic, deadLetterTopic: `${topic}.dlq`, events };
}

export type ContractViolationCode = 'invalid-json' | 'invalid-envelope' | 'unknown-topic' | 'unknown-type' | 'invalid-data';

/** Why an event does not satisfy its topic's contract; `reason` is readable by an operator. */
export class ContractViolation extends Error {
  constructor(
    readonly code: ContractViolationCode,
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
    this.name = 'ContractViolation';
  }
}

function summarize(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Looks up contracts by topic and validates envelopes against them, on produce and on consume. */
export class ContractRegistry {
  private readonly byTopic = new Map<string, TopicContract>();

  constructor(contracts: readonly TopicContract[]) {
    for (const contract of contracts) this.byTopic.set(contract.topic, contract);
  }

  get topics(): string[] {
    return [...this.byTopic.keys()];
  }

  contract(topic: string): TopicContract {
    const contract = this.byTopic.get(topic);
    if (!contract) throw new ContractViolation('unknown-topic', `no contract for topic "${topic}"`);
    return contract;
  }

  /** Validates an envelope (already parsed) for a topic and returns it typed. */
  validate(topic: string, candidate: unknown): EventEnvelope {
    const contract = this.contract(topic);
    const envelope = envelopeSchema.safeParse(candidate);
    if (!envelope.success) throw new ContractViolation('invalid-envelope', summarize(envelope.error));
    const dataSchema = contract.events[envelope.data.type];
    if (!dataSchema) {
      throw new ContractViolation('unknown-type', `topic "${topic}" does not carry event type "${envelope.data.type}"`);
    }
    const data = dataSchema.safeParse(envelope.data.data);
    if (!data.success) throw new ContractViolation('invalid-data', `${envelope.data.type}: ${summarize(data.error)}`);
    return { ...envelope.data, data: data.data };
  }

  /** Parses raw message bytes and validates them. */
  decode(topic: string, value: Buffer | null): EventEnvelope {
    if (value === null) throw new ContractViolation('invalid-json', 'message has no value (tombstone)');
    let parsed: unknown;
    try {
      parsed = JSON.parse(value.toString('utf8'));
    } catch (error) {
      throw new ContractViolation('invalid-json', `value is not JSON: ${(error as Error).message}`);
    }
    return this.validate(topic, parsed);
  }
}
