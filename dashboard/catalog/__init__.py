"""The dashboard's catalogue of queues: definitions, thresholds, their admin and migrations.

It lived in the library package (``queues``) until the library became Django-free; the app
label stays ``queues`` so table names, migration history and permission names
(``queues.operate_queue``, ``queues.destroy_queue``) are those existing databases hold.
"""
