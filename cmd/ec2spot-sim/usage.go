package main

import "fmt"

// usage is what the simulator prints once it listens: the environment every
// AWS client needs. The AWS CLI v1 reads its region from AWS_DEFAULT_REGION
// only, the Go SDK and CLI v2 from AWS_REGION; clients older than the
// AWS_ENDPOINT_URL variable (CLI v1 before 1.29, v2 before 2.13) need the
// endpoint as --endpoint-url.
func usage(url, region string) string {
	return fmt.Sprintf(`simulated AWS listening; use it with:

  export AWS_ENDPOINT_URL=%[1]s
  export AWS_REGION=%[2]s AWS_DEFAULT_REGION=%[2]s
  export AWS_ACCESS_KEY_ID=AKIASIMULATED0000000 AWS_SECRET_ACCESS_KEY=simulated
  export AWS_EC2_METADATA_DISABLED=true

  # an AWS CLI that ignores AWS_ENDPOINT_URL (v1 before 1.29, v2 before 2.13):
  #   aws --endpoint-url %[1]s autoscaling describe-auto-scaling-groups

control API: %[1]s/_sim/ (see integration/awssim/README.md); Ctrl-C stops it
`, url, region)
}
