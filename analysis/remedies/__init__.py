"""The advice for each finding: docs/CONTRACT.md's remedy rules, in their order.

1. investigate (reconnaissance)  2. org_policy  3. review_deny  4. cross_account_role
5. permission_set  6. grant. A finding takes the first rule that applies to any of its actions;
unless it is ``investigate``, its policy still grants what a grant would fix, and notes explain the rest.

``rules`` decides the kind, ``grants`` the policy, ``notes`` the words, ``cross_account`` the role in the
owning account, ``commands`` what to paste (``identity_center`` for permission sets), ``engine`` puts them
together and ``reconnaissance`` spots a principal probing.
"""

from analysis.grouping import reconnaissance_principals
from analysis.remedies.engine import advise, advise_one
from analysis.remedies.rules import KINDS

__all__ = ["KINDS", "advise", "advise_one", "reconnaissance_principals"]
