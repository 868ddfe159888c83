"""Readers of the raw dataset layouts behind ``lrlc.data``; use ``lrlc.data.load``.

One module per job: ``mnist``, ``cifar10`` and ``celeba`` find and read their layouts,
``images`` decodes image files, ``cache`` keeps decoded splits, ``download`` fetches with
torchvision, ``errors`` holds the two exceptions, ``source`` the types they share.
"""
