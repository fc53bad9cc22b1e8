package probe

import (
	"context"
	"errors"
)

// emitLoop emits items in sequence order. After emit fails it cancels the
// run and goes on consuming items without emitting, so nothing blocks.
func (b *Batch) emitLoop(emit func(BatchItem) error, cancel context.CancelCauseFunc) error {
	var failed error
	for {
		b.rmu.Lock()
		slot := b.next % len(b.ring)
		for b.ring[slot] == nil && b.total != b.next {
			b.rcond.Wait()
		}
		if b.total == b.next {
			b.rmu.Unlock()
			return failed
		}
		it := b.ring[slot]
		b.ring[slot] = nil
		b.next++
		b.rmu.Unlock()

		b.stats.items.Add(1)
		if it.Outcome != nil && errors.Is(it.Outcome.Err, ErrNotChecked) {
			b.stats.notChecked.Add(1)
		}
		if failed == nil {
			if err := emit(*it); err != nil {
				failed = err
				cancel(errEmitFailed)
			}
		}
		<-b.tokens
	}
}

// finish hands a decided item to the reorder buffer.
func (b *Batch) finish(it *BatchItem) {
	b.rmu.Lock()
	b.ring[it.Seq%len(b.ring)] = it
	if it.Seq == b.next {
		b.rcond.Broadcast()
	}
	b.rmu.Unlock()
}
