package awssim

import (
	"encoding/json"
	"strconv"
)

// SQS queue management beyond what a consumer needs: SetQueueAttributes,
// chiefly for the queue policy that lets EventBridge deliver.

func (s *Sim) sqsSetQueueAttributes(r *request) (any, *APIError) {
	var in struct {
		QueueURL   string `json:"QueueUrl"`
		Attributes map[string]string
	}
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	q, apiErr := s.queueByURLLocked(r, in.QueueURL)
	if apiErr != nil {
		return nil, apiErr
	}
	for k, v := range in.Attributes {
		if _, ok := sqsDefaults[k]; !ok && k != "Policy" && k != "RedrivePolicy" {
			return nil, sqsErr(r, "InvalidAttributeName", "Unknown Attribute %s.", k)
		}
		if k == "Policy" && v != "" && !json.Valid([]byte(v)) {
			return nil, sqsErr(r, "InvalidAttributeValue", "Invalid value for the parameter Policy.")
		}
	}
	for k, v := range in.Attributes {
		if v == "" && (k == "Policy" || k == "RedrivePolicy") {
			delete(q.Attributes, k)
			continue
		}
		q.Attributes[k] = v
	}
	q.Attributes["LastModifiedTimestamp"] = strconv.FormatInt(s.clock.Now().Unix(), 10)
	return struct{}{}, nil
}
