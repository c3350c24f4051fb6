package awssim

import "encoding/base64"

// MaxRecords/NextToken paging shared by the Describe operations.

// page is a Describe call's MaxRecords and NextToken.
type page struct {
	limit int
	token string // as sent
}

// pageParams reads MaxRecords (default def, at most limit) and NextToken.
func pageParams(q *params, def, limit int) page {
	n, ok := q.Int("MaxRecords")
	if !ok {
		n = def
	}
	if n < 1 || n > limit {
		q.fail("Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to %d", n, limit)
	}
	return page{limit: n, token: q.Str("NextToken")}
}

// after decodes the token: the key of the last item of the previous page
// ("" = from the start).
func (p page) after() (string, *APIError) {
	if p.token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(p.token)
	if err != nil {
		return "", validationError("The token '%s' is invalid.", p.token)
	}
	return string(b), nil
}

func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// pageAfter cuts one page of at most limit items from list, resuming after
// the item whose key is after (the decoded NextToken; "" = from the start),
// and returns the token for the next page ("" when this is the last). ok is
// false when no item has the key after.
func pageAfter[T any](list []T, after string, limit int, key func(T) string) (page []T, next string, ok bool) {
	start := 0
	if after != "" {
		start = -1
		for i, x := range list {
			if key(x) == after {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, "", false
		}
	}
	end := min(start+limit, len(list))
	if end < len(list) {
		next = encodeToken(key(list[end-1]))
	}
	return list[start:end], next, true
}
