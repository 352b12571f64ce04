export { createEvent, envelopeSchema, type EventEnvelope, type NewEvent } from './lib/envelope';
export { ContractRegistry, ContractViolation, defineTopic, type ContractViolationCode, type TopicContract } from './lib/contract';
export { EventPublisher, type OutgoingEvent, type PublishOptions } from './lib/event-publisher';
export {
  EventConsumer,
  NonRetriableEventError,
  REPLAY_HEADER,
  type ConsumerOptions,
  type DecodedEvent,
  type EventHandler,
  type EventMetadata,
} from './lib/event-consumer';
export { TopicAdmin, topicSpecs, type TopicSpec } from './lib/topic-admin';
export { createKafka, type KafkaConnectionOptions } from './lib/kafka-connection';
export { messagesProduced } from './lib/kafka-metrics';
export { KeyCachingPartitioner } from './lib/partitioner';
export { DLQ_HEADERS, headersToStrings } from './lib/headers';
export { KAFKA, Messaging, MessagingModule } from './lib/messaging.module';
export {
  authTopic,
  customersTopic,
  invoicesTopic,
  money,
  orderStatus,
  ordersTopic,
  paymentsTopic,
  platformContracts,
  platformRegistry,
} from './contracts';
export {
  aggregateReducers,
  EventFoldError,
  foldEvents,
  isAggregateType,
  type AggregateReducer,
  type AggregateState,
  type AggregateStates,
  type AggregateTracking,
  type AggregateType,
  type CustomerState,
  type EventFoldErrorCode,
  type FoldResult,
  type InvoiceState,
  type OrderState,
  type PaymentState,
} from './contracts/reducers';
