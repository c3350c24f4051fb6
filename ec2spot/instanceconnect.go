package ec2spot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect/types"
)

const (
	// InstanceConnectKeyLifetime is how long EC2 Instance Connect keeps a
	// pushed key.
	InstanceConnectKeyLifetime = 60 * time.Second
	// instanceConnectMargin is taken off the lifetime for clock skew and
	// the push's own latency.
	instanceConnectMargin = 10 * time.Second
)

// PushKey pushes the group's public key to the instance for user with EC2
// Instance Connect and returns when it stops being accepted.
func (g *Group) PushKey(ctx context.Context, d InstanceDetails, user string) (expires time.Time, err error) {
	if g.pubKey == "" {
		return time.Time{}, errors.New("no public key to push with EC2 Instance Connect")
	}
	sent := g.now()
	in := &ec2instanceconnect.SendSSHPublicKeyInput{
		InstanceId:     aws.String(d.ID),
		InstanceOSUser: aws.String(user),
		SSHPublicKey:   aws.String(g.pubKey),
	}
	if d.AvailabilityZone != "" {
		in.AvailabilityZone = aws.String(d.AvailabilityZone)
	}
	// Success in the reply is not checked: errors arrive as exceptions.
	if _, err := g.clients.InstanceConnect.SendSSHPublicKey(ctx, in); err != nil {
		return time.Time{}, explainPush(d.ID, err)
	}
	return sent.Add(InstanceConnectKeyLifetime - instanceConnectMargin), nil
}

func explainPush(id string, err error) error {
	var (
		stateInvalid *types.EC2InstanceStateInvalidException
		notFound     *types.EC2InstanceNotFoundException
		unavailable  *types.EC2InstanceUnavailableException
	)
	switch {
	case errors.As(err, &stateInvalid), errors.As(err, &notFound):
		return fmt.Errorf("instance %s: %w (EC2 Instance Connect: %w)", id, ErrInstanceNotRunning, err)
	case errors.As(err, &unavailable):
		return fmt.Errorf("instance %s is not reachable by EC2 Instance Connect yet, retry later: %w", id, err)
	default:
		return explain("ec2-instance-connect:SendSSHPublicKey", err)
	}
}
