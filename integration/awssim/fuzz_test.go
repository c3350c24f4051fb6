package awssim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

// FuzzAPIRequest sends arbitrary AWS API requests straight to the
// simulator's handler: whatever the action, parameters or JSON body, it
// answers with an AWS-style error or a result, and never panics. The
// simulator accepts any key (no Options.Credentials), so every request
// gets past authentication to the parsers.
func FuzzAPIRequest(f *testing.F) {
	for _, seed := range [][3]string{
		{"autoscaling", "DescribeAutoScalingGroups", "AutoScalingGroupNames.member.1=runners&MaxRecords=1"},
		{"autoscaling", "SetDesiredCapacity", "AutoScalingGroupName=runners&DesiredCapacity=2&HonorCooldown=false"},
		{"autoscaling", "SetDesiredCapacity", "AutoScalingGroupName=runners&DesiredCapacity=-99999999999"},
		{"autoscaling", "TerminateInstanceInAutoScalingGroup", "InstanceId=i-00000000000000000&ShouldDecrementDesiredCapacity=true"},
		{"autoscaling", "TerminateInstanceInAutoScalingGroup", "InstanceIds.member.1=&ShouldDecrementDesiredCapacity=maybe"},
		{"autoscaling", "UpdateAutoScalingGroup", "AutoScalingGroupName=runners&MixedInstancesPolicy.InstancesDistribution.OnDemandPercentageAboveBaseCapacity=100"},
		{"autoscaling", "UpdateAutoScalingGroup", "AutoScalingGroupName=runners&MixedInstancesPolicy.LaunchTemplate.Overrides.member.1.InstanceType=t3.micro&MixedInstancesPolicy.LaunchTemplate.Overrides.member.1.WeightedCapacity=x"},
		{"autoscaling", "CreateAutoScalingGroup", "AutoScalingGroupName=g2&MinSize=0&MaxSize=2&LaunchTemplate.LaunchTemplateName=runners-template"},
		{"autoscaling", "DescribeScalingActivities", "AutoScalingGroupName=runners&MaxRecords=0&NextToken=%%%"},
		{"autoscaling", "CreateOrUpdateTags", "Tags.member.1.ResourceId=runners&Tags.member.1.ResourceType=auto-scaling-group&Tags.member.1.Key=k"},
		{"autoscaling", "DeleteTags", "Tags.member.1.Key=k"},
		{"autoscaling", "DetachInstances", "AutoScalingGroupName=runners&InstanceIds.member.1=i-1&ShouldDecrementDesiredCapacity=false"},
		{"autoscaling", "LaunchInstances", "AutoScalingGroupName=runners&RequestedCapacity=1&ClientToken=t&AvailabilityZones.member.1=us-east-1a"},
		{"ec2", "DescribeInstances", "Filter.1.Name=tag:aws:autoscaling:groupName&Filter.1.Value.1=runners&MaxResults=5"},
		{"ec2", "DescribeInstances", "InstanceId.1=i-1&InstanceId.2=&NextToken=zz&DryRun=true"},
		{"ec2", "RunInstances", "ImageId=" + awssim.ImageLinuxAMD64 + "&InstanceType=t3.micro&MinCount=1&MaxCount=1"},
		{"ec2", "RunInstances", "MinCount=5&MaxCount=1&LaunchTemplate.LaunchTemplateName=runners-template"},
		{"ec2", "TerminateInstances", "InstanceId.1=i-00000000000000000"},
		{"ec2", "GetPasswordData", "InstanceId=i-1"},
		{"ec2", "DescribeSpotInstanceRequests", "SpotInstanceRequestId.1=sir-1&Filter.1.Name=instance-id"},
		{"ec2", "CreateLaunchTemplateVersion", "LaunchTemplateName=runners-template&LaunchTemplateData.ImageId=ami-1"},
		{"ec2-instance-connect", "SendSSHPublicKey", `{"InstanceId":"i-1","InstanceOSUser":"ec2-user","SSHPublicKey":"ssh-ed25519 AAAA"}`},
		{"ec2-instance-connect", "SendSSHPublicKey", `[1,2`},
		{"sqs", "ReceiveMessage", `{"QueueUrl":"http://127.0.0.1/123456789012/q","MaxNumberOfMessages":11,"WaitTimeSeconds":0}`},
		{"sqs", "SendMessage", `{"QueueUrl":"q","MessageBody":""}`},
		{"sqs", "DeleteMessageBatch", `{"QueueUrl":"q","Entries":[{"Id":"","ReceiptHandle":null}]}`},
		{"sqs", "CreateQueue", `{"QueueName":"q","Attributes":{"VisibilityTimeout":"-1"}}`},
		{"autoscaling", "", "Action=&Version=2011-01-01"},
		{"unknown", "X", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	// A high speed would make every input also a long simulated run; the
	// parsers are what is exercised here.
	sim, err := awssim.Start(awssim.Options{Speed: 10})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = sim.Close() })
	if err := sim.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 3, Desired: 1}); err != nil {
		f.Fatal(err)
	}
	var inputs atomic.Int64
	f.Fuzz(func(t *testing.T, service, action, params string) {
		// Launches accumulate; a world of millions of instances (minimising
		// a RunInstances input reruns it thousands of times) only slows
		// the fuzzer down. Start afresh now and then.
		if inputs.Add(1)%200 == 0 && len(sim.Instances()) > 2000 {
			sim.Reset()
			if err := sim.CreateGroup(awssim.GroupSpec{Name: "runners", MaxSize: 3, Desired: 1}); err != nil {
				t.Fatal(err)
			}
		}
		// WaitTimeSeconds would make a fuzz input block for real seconds.
		if service == "sqs" && strings.Contains(params, "WaitTime") {
			return
		}
		body, target := params, ""
		switch service {
		case "autoscaling":
			body = "Action=" + action + "&Version=2011-01-01&" + params
		case "ec2":
			body = "Action=" + action + "&Version=2016-11-15&" + params
		case "ec2-instance-connect":
			target = "AWSEC2InstanceConnectService." + action
		case "sqs":
			target = "AmazonSQS." + action
		}
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(body))
		now := time.Now().UTC()
		req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/"+now.Format("20060102")+"/us-east-1/"+service+
			"/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("0", 64))
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); sim.ServeHTTP(rec, req) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s %s %q: no answer within 5s", service, action, params)
		}
		if rec.Code >= 500 && !strings.Contains(rec.Body.String(), "Internal") && !strings.Contains(rec.Body.String(), "Unavailable") {
			t.Fatalf("%s %s: status %d without an AWS error: %s", service, action, rec.Code, rec.Body.String())
		}
	})
}
