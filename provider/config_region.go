package provider

import (
	"fmt"
	"regexp"
	"slices"
)

// The region is checked here, not by AWS: a misspelt region would
// otherwise surface as a DNS or credentials failure far from its cause.
// A region AWS opens later still passes when it has the shape of its
// partition's regions: a known prefix, a compass direction, a number.

// knownRegions are the regions of the SDK's partition table (aws-sdk-go-v2
// internal/endpoints/awsrulesfn, v1.48.0), for did-you-mean.
var knownRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1",
	"eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "me-west-1",
	"mx-central-1", "sa-east-1", "sa-west-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"cn-north-1", "cn-northwest-1", "eusc-de-east-1",
	"us-iso-east-1", "us-iso-west-1", "us-isob-east-1", "us-isob-west-1", "eu-isoe-west-1",
	"us-isof-east-1", "us-isof-south-1", "us-gov-east-1", "us-gov-west-1",
}

// partitionRegions are the partitions' region patterns from the same
// table, with the direction restricted to the compass words AWS names its
// regions by (the table's \w+ would take any typo).
var partitionRegions = func() []*regexp.Regexp {
	const dir = `(central|(north|south)?(east|west)|north|south)`
	prefixes := []string{`(us|eu|ap|sa|ca|me|af|il|mx)`, `cn`, `eusc-de`, `us-iso`, `us-isob`, `eu-isoe`, `us-isof`, `us-gov`}
	res := make([]*regexp.Regexp, 0, len(prefixes))
	for _, prefix := range prefixes {
		res = append(res, regexp.MustCompile(`^`+prefix+`-`+dir+`-[0-9]+$`))
	}
	return res
}()

// checkRegion: "" (the SDK's chain decides), a known region, or one of a
// partition's shape.
func checkRegion(region string) error {
	if region == "" || slices.Contains(knownRegions, region) {
		return nil
	}
	for _, re := range partitionRegions {
		if re.MatchString(region) {
			return nil
		}
	}
	if s := closest(region, knownRegions); s != "" {
		return fmt.Errorf("%s %q: %q is not an AWS region (did you mean %q?)", msgInvalid, "region", region, s)
	}
	return fmt.Errorf("%s %q: %q (want a region code such as eu-central-1)", msgInvalid, "region", region)
}
