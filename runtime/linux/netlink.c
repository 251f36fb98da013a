/* rtnetlink through libmnl: bring the loopback device up in a new network
 * namespace (a fresh namespace has lo, down). */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <time.h>

#include "runtime/linux/internal.h"

int netlink_loopback_up(struct husk_err **err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	unsigned seq = (unsigned)time(NULL), portid;
	ssize_t n;
	int ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = IFF_UP;
	/* By name: the kernel looks the device up when ifi_index is 0. */
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "lo");

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl == NULL)
		return husk_err_sys(err, "netlink socket");
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		husk_err_sys(err, "netlink bind");
		mnl_socket_close(nl);
		return -1;
	}
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		husk_err_sys(err, "netlink: set lo up");
		mnl_socket_close(nl);
		return -1;
	}
	do
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	ret = n < 0 ? -1 : mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
	if (ret < 0)
		husk_err_sys(err, "netlink: set lo up");
	mnl_socket_close(nl);
	return ret < 0 ? -1 : 0;
}
