// Package redrive finds, inspects, archives and redrives dead-letter queues
// (SQS redrive-policy DLQs, Lambda asynchronous-invocation DLQs and Lambda
// on-failure destinations) without losing a message.
//
// The no-loss rule every path follows: a message leaves the DLQ only after a
// copy of it is durably elsewhere. The client mover receives a batch, filters
// it, archives it durably (fsync'd file or completed S3 PutObject) when asked,
// sends it (SendMessageBatch or Lambda Invoke), and deletes from the DLQ only
// the entries whose send succeeded. Anything not sent stays in the DLQ. While
// a batch is in flight its visibility timeout is extended; on cancellation
// the mover finishes the batch in hand (sent entries are deleted, unsent ones
// released) and stops. A kill at any point can therefore only duplicate the
// batch that was in flight, never lose it.
//
// This package never prints, exits or reads flags: cmd/opsctl does that.
package redrive
