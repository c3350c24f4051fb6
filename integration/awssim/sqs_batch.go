package awssim

import (
	"sort"
	"strings"
	"time"
)

// The rest of the SQS calls a consumer may make: DeleteMessageBatch,
// ChangeMessageVisibility, ListQueues, DeleteQueue.

type sqsBatchFailure struct {
	ID          string `json:"Id"`
	Code        string `json:"Code"`
	Message     string `json:"Message"`
	SenderFault bool   `json:"SenderFault"`
}

func (s *Sim) sqsDeleteMessageBatch(r *request) (any, *APIError) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
		Entries  []struct {
			ID            string `json:"Id"`
			ReceiptHandle string
		}
	}
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	q, apiErr := s.queueByURLLocked(r, in.QueueURL)
	if apiErr != nil {
		return nil, apiErr
	}
	switch {
	case len(in.Entries) == 0:
		return nil, sqsErr(r, "EmptyBatchRequest", "There should be at least one DeleteMessageBatchRequestEntry in the request.")
	case len(in.Entries) > 10:
		return nil, sqsErr(r, "TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent %d.", len(in.Entries))
	}
	seen := map[string]bool{}
	for _, e := range in.Entries {
		if seen[e.ID] {
			return nil, sqsErr(r, "BatchEntryIdsNotDistinct", "Id %s repeated.", e.ID)
		}
		seen[e.ID] = true
	}
	successful := []map[string]string{}
	failed := []sqsBatchFailure{}
	for _, e := range in.Entries {
		queue, msgID, ok := parseReceiptHandle(e.ReceiptHandle)
		if !ok || queue != q.Name {
			failed = append(failed, sqsBatchFailure{e.ID, "ReceiptHandleIsInvalid", "The input receipt handle is invalid.", true})
			continue
		}
		q.removeMessage(msgID)
		successful = append(successful, map[string]string{"Id": e.ID})
	}
	return map[string]any{"Successful": successful, "Failed": failed}, nil
}

func (q *Queue) removeMessage(id string) {
	for i, m := range q.messages {
		if m.ID == id {
			q.messages = append(q.messages[:i], q.messages[i+1:]...)
			return
		}
	}
}

func (s *Sim) sqsChangeMessageVisibility(r *request) (any, *APIError) {
	var in struct {
		QueueURL          string `json:"QueueUrl"`
		ReceiptHandle     string
		VisibilityTimeout int
	}
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	q, apiErr := s.queueByURLLocked(r, in.QueueURL)
	if apiErr != nil {
		return nil, apiErr
	}
	queue, msgID, ok := parseReceiptHandle(in.ReceiptHandle)
	if !ok || queue != q.Name {
		return nil, sqsErr(r, "ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", in.ReceiptHandle)
	}
	if in.VisibilityTimeout < 0 || in.VisibilityTimeout > 43200 {
		return nil, sqsErr(r, "InvalidParameterValue", "Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", in.VisibilityTimeout)
	}
	now := time.Now()
	for _, m := range q.messages {
		if m.ID == msgID {
			if !now.Before(m.visibleAt) {
				break // visible again: not in flight
			}
			m.visibleAt = now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
			if in.VisibilityTimeout == 0 {
				close(q.waiters) // visible now: wake receivers
				q.waiters = make(chan struct{})
			}
			return struct{}{}, nil
		}
	}
	return nil, sqsErr(r, "MessageNotInflight", "Message does not exist or is not available for visibility timeout change.")
}

func (s *Sim) sqsListQueues(r *request) (any, *APIError) {
	var in struct{ QueueNamePrefix string }
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	urls := []string{}
	for name, q := range s.queues {
		if strings.HasPrefix(name, in.QueueNamePrefix) {
			urls = append(urls, q.URL)
		}
	}
	sort.Strings(urls)
	return map[string]any{"QueueUrls": urls}, nil
}

func (s *Sim) sqsDeleteQueue(r *request) (any, *APIError) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
	}
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	q, apiErr := s.queueByURLLocked(r, in.QueueURL)
	if apiErr != nil {
		return nil, apiErr
	}
	delete(s.queues, q.Name)
	close(q.waiters) // long polls on it return empty
	q.waiters = make(chan struct{})
	return struct{}{}, nil
}
