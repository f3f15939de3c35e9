"""Print what each catravs registry and model-part category holds.

``python tools/misc/list_modules.py [--category fusion] [--config CFG]``; with
``--config`` the config's ``custom_imports`` (plugins) are imported first.
"""
import argparse

from catravs.analysis.module_listing import list_registered
from catravs.apis import load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--category', help='print only this category / registry')
    parser.add_argument('--config', help='import this config\'s custom_imports first')
    args = parser.parse_args()
    if args.config:
        load_config(args.config)  # imports custom_imports
    listing = list_registered()
    if args.category:
        if args.category not in listing:
            parser.error(f"unknown category '{args.category}'; known: {', '.join(listing)}")
        listing = {args.category: listing[args.category]}
    for category, names in listing.items():
        print(f'{category} ({len(names)}):')
        for name in names:
            print(f'    {name}')


if __name__ == '__main__':
    main()
