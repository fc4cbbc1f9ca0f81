"""ovnguard: what will this OVN/OVS change do to every node, and will I still reach them?"""

__version__ = "0.1.0"
