package main

import (
	_ "github.com/aws/aws-sdk-go-v2/aws"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	_ "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	_ "github.com/aws/aws-sdk-go-v2/service/ec2"
	_ "github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
	_ "github.com/aws/aws-sdk-go-v2/service/sqs"
	_ "github.com/aws/aws-sdk-go-v2/service/sts"
	_ "github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	_ "github.com/aws/aws-sdk-go-v2/aws/retry"
	_ "github.com/aws/smithy-go"
	_ "github.com/hashicorp/go-hclog"
	_ "golang.org/x/crypto/ssh"
	_ "gitlab.com/gitlab-org/fleeting/fleeting/plugin"
	_ "gitlab.com/gitlab-org/fleeting/fleeting/provider"
	_ "gitlab.com/gitlab-org/fleeting/fleeting/integration"
	_ "gitlab.com/gitlab-org/fleeting/fleeting"
)

func main() {}
